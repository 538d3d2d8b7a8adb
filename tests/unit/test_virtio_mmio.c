/* The virtio-mmio version 2 transport (kernel/vdev/virtio_mmio.c) with a made-up device. */
#include "check.h"
#include "virtio_fixtures.h"
#include "kernel/vdev/virtio_mmio.h"
#include "kernel/lib/errors.h"

#include <stdlib.h>

#define F_A 3u   /* two made-up device features: B requires A */
#define F_B 5u
#define OFFERED (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_A) | VIRTIO_FEATURE(F_B))

static const struct virtio_feature_dep deps[] = { { VIRTIO_FEATURE(F_B), VIRTIO_FEATURE(F_A) } };

static const struct virtio_mmio_device device = {
	.device_id = 42,
	.features = OFFERED,
	.deps = deps,
	.dep_count = 1,
	.queue_count = 2,
	.queue_max = { 16, 8 },
	.config_len = 4,
};

/* The line's history: '+' for a rise, '-' for a fall. */
static char line_log[64];
static unsigned line_n;

static void line(void *ctx, bool high)
{
	(void)ctx;
	if (line_n + 1 < sizeof(line_log))
		line_log[line_n++] = high ? '+' : '-';
	line_log[line_n] = 0;
}

struct bench {
	struct fake_ram *f;
	struct virtio_mmio t;
};

static struct bench *bench_new(void)
{
	struct bench *b = malloc(sizeof(*b));
	b->f = malloc(sizeof(*b->f));
	fake_ram_init(b->f);
	virtio_mmio_init(&b->t, &device, &b->f->ram, line, NULL);
	memcpy(b->t.config, "\x11\x22\x33\x44", 4);
	line_n = 0;
	line_log[0] = 0;
	return b;
}

static void bench_free(struct bench *b)
{
	free(b->f);
	free(b);
}

static uint32_t rd(struct bench *b, uint32_t offset)
{
	uint64_t v = 0xdead;
	CHECK_EQ_I(virtio_mmio_read(&b->t, offset, 4, &v), FERR_OK);
	return (uint32_t)v;
}

static enum virtio_mmio_event_kind wr(struct bench *b, uint32_t offset, uint32_t value)
{
	struct virtio_mmio_event ev;
	CHECK_EQ_I(virtio_mmio_write(&b->t, offset, 4, value, &ev), FERR_OK);
	return ev.kind;
}

static bool needs_reset(struct bench *b)
{
	return rd(b, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* Linux's order (drivers/virtio/virtio_mmio.c and virtio.c): reset, ACKNOWLEDGE, DRIVER,
 * features, FEATURES_OK; returns whether FEATURES_OK stuck. */
static bool negotiate(struct bench *b, uint64_t features)
{
	wr(b, VIRTIO_MMIO_STATUS, 0);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	return rd(b, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct bench *b, uint32_t index, uint32_t num, uint64_t desc,
			uint64_t avail, uint64_t used)
{
	wr(b, VIRTIO_MMIO_QUEUE_SEL, index);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(b, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(b, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(b, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint32_t DRIVER_ALL = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

/* A device brought up by the book with both queues. */
static struct bench *live(void)
{
	struct bench *b = bench_new();
	CHECK(negotiate(b, OFFERED));
	setup_queue(b, 0, 16, 0x1000, 0x2000, 0x3000);
	setup_queue(b, 1, 8, 0x4000, 0x5000, 0x6000);
	CHECK_EQ_I(wr(b, VIRTIO_MMIO_STATUS, DRIVER_ALL), VIRTIO_MMIO_EV_DRIVER_OK);
	CHECK(virtio_mmio_running(&b->t));
	return b;
}

TEST(identity_and_feature_registers)
{
	struct bench *b = bench_new();
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_DEVICE_ID), 42);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_FERRY_VENDOR);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_DEVICE_FEATURES), (1u << F_A) | (1u << F_B));
	wr(b, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_DEVICE_FEATURES), 1);   /* VERSION_1 is bit 32 */
	wr(b, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_NUM_MAX), 8);
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 2);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffffu);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffffu);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_NUM), 0);        /* write-only */
	/* Writes to read-only registers change nothing and are counted. */
	wr(b, VIRTIO_MMIO_MAGIC_VALUE, 0);
	wr(b, VIRTIO_MMIO_DEVICE_FEATURES, 0);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ_U(b->t.counters.ignored_writes, 2);
	CHECK(!needs_reset(b));
	bench_free(b);
}

TEST(bring_up_by_the_book)
{
	struct bench *b = live();
	CHECK(virtio_mmio_has_feature(&b->t, F_A));
	CHECK(virtio_mmio_has_feature(&b->t, F_B));
	CHECK(virtio_mmio_has_feature(&b->t, VIRTIO_F_VERSION_1));
	CHECK(!virtio_mmio_has_feature(&b->t, 7));
	struct virtq *q = virtio_mmio_queue(&b->t, 1);
	CHECK(q != NULL);
	CHECK_EQ_U(q->desc, 0x4000);
	CHECK_EQ_U(q->avail, 0x5000);
	CHECK_EQ_U(q->used, 0x6000);
	CHECK_EQ_U(q->size, 8);
	CHECK(virtio_mmio_queue(&b->t, 2) == NULL);
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_READY), 1);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_STATUS), DRIVER_ALL);
	CHECK(b->t.failure == NULL);
	bench_free(b);
}

TEST(features_ok_is_refused_for_features_it_cannot_accept)
{
	struct bench *b = bench_new();
	CHECK(!negotiate(b, VIRTIO_FEATURE(F_A)));                                 /* no VERSION_1 */
	CHECK(!negotiate(b, OFFERED | VIRTIO_FEATURE(9)));                         /* not offered */
	CHECK(!negotiate(b, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_B)));   /* B needs A */
	CHECK(negotiate(b, VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(F_A)));
	CHECK(!virtio_mmio_has_feature(&b->t, F_B));
	/* FEATURES_OK without DRIVER. */
	wr(b, VIRTIO_MMIO_STATUS, 0);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK(!needs_reset(b));
	bench_free(b);
}

/* A misbehaving driver stops the device: NEEDS_RESET, a config interrupt once live, a reason. */
static void expect_failed(struct bench *b, const char *reason)
{
	CHECK(needs_reset(b));
	CHECK(!virtio_mmio_running(&b->t));
	CHECK_STR(b->t.failure, reason);
}

TEST(misbehaviour_sets_device_needs_reset)
{
	struct bench *b = live();
	CHECK_EQ_I(wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER),
		   VIRTIO_MMIO_EV_FAILED);
	expect_failed(b, "the driver cleared a device status bit without a reset");
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	CHECK_STR(line_log, "+");
	CHECK_EQ_U(b->t.counters.needs_reset, 1);
	/* The driver acknowledges, resets, and the device works again. */
	wr(b, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	CHECK_EQ_I(wr(b, VIRTIO_MMIO_STATUS, 0), VIRTIO_MMIO_EV_RESET);
	CHECK(b->t.failure == NULL);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_STATUS), 0);
	CHECK(virtio_mmio_queue(&b->t, 0) == NULL);
	bench_free(b);

	b = live();
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	expect_failed(b, "the driver wrote features after FEATURES_OK");
	bench_free(b);

	b = live();
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	expect_failed(b, "the driver changed a queue register while the queue was ready");
	CHECK_EQ_U(b->t.s.queues[0].desc, 0x1000);   /* the address did not move */
	bench_free(b);

	b = live();
	CHECK_EQ_I(wr(b, VIRTIO_MMIO_QUEUE_NOTIFY, 2), VIRTIO_MMIO_EV_FAILED);
	expect_failed(b, "the driver notified a queue that does not exist");
	bench_free(b);

	b = live();
	uint64_t v;
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_STATUS, 2, &v), FERR_OK);
	CHECK_EQ_U(v, 0);
	expect_failed(b, "a control register was read with other than an aligned 32-bit access");
	bench_free(b);

	b = live();
	struct virtio_mmio_event ev;
	CHECK_EQ_I(virtio_mmio_write(&b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 8, 0, &ev), FERR_OK);
	CHECK_EQ_I(ev.kind, VIRTIO_MMIO_EV_FAILED);
	expect_failed(b, "a control register was written with other than an aligned 32-bit access");
	bench_free(b);

	/* DRIVER_OK before FEATURES_OK: no config interrupt, as the driver was never live. */
	b = bench_new();
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ_I(wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					    VIRTIO_STATUS_DRIVER_OK), VIRTIO_MMIO_EV_FAILED);
	expect_failed(b, "the driver set DRIVER_OK without FEATURES_OK");
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	bench_free(b);
}

TEST(a_queue_made_ready_with_bad_rings_is_refused)
{
	static const struct { uint32_t num; uint64_t desc, avail, used; const char *why; } cases[] = {
		{ 12, 0x1000, 0x2000, 0x3000, "queue size is not a power of two up to QueueNumMax" },
		{ 32, 0x1000, 0x2000, 0x3000, "queue size is not a power of two up to QueueNumMax" },
		{ 0x10010, 0x1000, 0x2000, 0x3000, "queue size is not a power of two up to QueueNumMax" },
		{ 16, 0x1008, 0x2000, 0x3000, "a ring area is not aligned (descriptors 16, driver 2, device 4)" },
		{ 16, 0xfff00, 0x2000, 0x3000, "the descriptor table is outside guest RAM" },
		{ 16, 0x1000, 0x1ffffffff0ull, 0x3000, "the available ring is outside guest RAM" },
		{ 16, 0x1000, 0x2000, FAKE_RAM_BYTES - 4, "the used ring is outside guest RAM" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bench *b = bench_new();
		CHECK(negotiate(b, OFFERED));
		setup_queue(b, 0, cases[i].num, cases[i].desc, cases[i].avail, cases[i].used);
		expect_failed(b, cases[i].why);
		CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_READY), 0);
		bench_free(b);
	}
}

TEST(queue_ready_off_and_on_starts_a_new_ring)
{
	struct bench *b = live();
	b->t.s.queues[0].last_avail = 7;
	b->t.s.queues[0].used_idx = 7;
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(b, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x7000);   /* allowed now */
	wr(b, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(!needs_reset(b));
	CHECK_EQ_U(b->t.s.queues[0].desc, 0x7000);
	CHECK_EQ_U(b->t.s.queues[0].last_avail, 0);
	CHECK_EQ_U(b->t.s.queues[0].used_idx, 0);
	/* Writes for a queue that does not exist are ignored. */
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 5);
	wr(b, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(!needs_reset(b));
	bench_free(b);
}

TEST(notify_reports_the_queue)
{
	struct bench *b = live();
	struct virtio_mmio_event ev;
	CHECK_EQ_I(virtio_mmio_write(&b->t, VIRTIO_MMIO_QUEUE_NOTIFY, 4, 1, &ev), FERR_OK);
	CHECK_EQ_I(ev.kind, VIRTIO_MMIO_EV_NOTIFY);
	CHECK_EQ_U(ev.queue, 1);
	CHECK_EQ_U(b->t.counters.notifies, 1);
	bench_free(b);
}

TEST(the_line_follows_interrupt_status_and_repulses_on_a_partial_ack)
{
	struct bench *b = live();
	virtio_mmio_interrupt(&b->t, VIRTIO_MMIO_INT_USED_BUFFER);
	virtio_mmio_interrupt(&b->t, VIRTIO_MMIO_INT_USED_BUFFER);   /* already high: no edge */
	CHECK_STR(line_log, "+");
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
	wr(b, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	CHECK_STR(line_log, "+-");
	/* The driver read 1, then a config change came before its acknowledge of 1. */
	virtio_mmio_interrupt(&b->t, VIRTIO_MMIO_INT_USED_BUFFER);
	virtio_mmio_config_changed(&b->t, true);
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	wr(b, VIRTIO_MMIO_INTERRUPT_ACK, 1);
	CHECK_STR(line_log, "+-+-+");   /* a new edge for the bit it did not read */
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(b, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffffu);
	CHECK_STR(line_log, "+-+-+-");
	CHECK_EQ_U(b->t.counters.interrupts, 3);
	/* A reset drops the line; the generation keeps counting. */
	virtio_mmio_interrupt(&b->t, VIRTIO_MMIO_INT_USED_BUFFER);
	wr(b, VIRTIO_MMIO_STATUS, 0);
	CHECK_STR(line_log, "+-+-+-+-");
	CHECK_EQ_U(rd(b, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	bench_free(b);
}

TEST(config_space_and_access_sizes)
{
	struct bench *b = bench_new();
	uint64_t v;
	struct virtio_mmio_event ev;
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG, 1, &v), FERR_OK);
	CHECK_EQ_U(v, 0x11);
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG + 1, 2, &v), FERR_OK);
	CHECK_EQ_U(v, 0x3322);
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG, 4, &v), FERR_OK);
	CHECK_EQ_U(v, 0x44332211);
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_CONFIG + 2, 8, &v), FERR_OK);
	CHECK_EQ_U(v, 0x4433);   /* past config_len reads 0 */
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_WINDOW - 4, 4, &v), FERR_OK);
	CHECK_EQ_U(v, 0);
	/* Writes to the configuration space are ignored. */
	CHECK_EQ_I(virtio_mmio_write(&b->t, VIRTIO_MMIO_CONFIG, 1, 0x99, &ev), FERR_OK);
	CHECK_EQ_U(b->t.config[0], 0x11);
	CHECK_EQ_U(b->t.counters.ignored_writes, 1);
	/* Accesses the window cannot hold are the caller's error. */
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_WINDOW - 2, 4, &v), FERR_INVAL);
	CHECK_EQ_I(virtio_mmio_read(&b->t, VIRTIO_MMIO_WINDOW, 1, &v), FERR_INVAL);
	CHECK_EQ_I(virtio_mmio_read(&b->t, 0, 3, &v), FERR_INVAL);
	CHECK_EQ_I(virtio_mmio_write(&b->t, 0xffffffffu, 4, 0, &ev), FERR_INVAL);
	CHECK_EQ_I(virtio_mmio_write(&b->t, 0, 16, 0, &ev), FERR_INVAL);
	CHECK(!needs_reset(b));
	bench_free(b);
}

TEST(saved_state_round_trips_and_is_validated)
{
	struct bench *b = live();
	const char *why = NULL;
	struct virtio_mmio_state s;
	b->t.s.queues[0].last_avail = b->t.s.queues[0].used_idx = 3;
	put16(b->f, 0x2000 + 2, 5);   /* the driver made two more available */
	virtio_mmio_interrupt(&b->t, VIRTIO_MMIO_INT_USED_BUFFER);
	virtio_mmio_save(&b->t, &s);

	struct bench *dst = bench_new();
	memcpy(dst->f->mem, b->f->mem, FAKE_RAM_BYTES);
	CHECK_EQ_I(virtio_mmio_load(&dst->t, &s, &why), FERR_OK);
	CHECK(virtio_mmio_running(&dst->t));
	CHECK_EQ_U(dst->t.s.queues[0].last_avail, 3);
	CHECK_STR(line_log, "");          /* the line waits for the resume */
	virtio_mmio_repulse(&dst->t);
	CHECK_STR(line_log, "+");

	struct virtio_mmio_state bad = s;
	bad.status |= 0x10;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	CHECK_STR(why, "virtio: reserved device status bits set");
	bad = s;
	bad.interrupt_status = 4;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	bad = s;
	bad.driver_features |= VIRTIO_FEATURE(9);
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	CHECK_STR(why, "virtio: negotiated features this device does not offer");
	bad = s;
	bad.status &= ~VIRTIO_STATUS_FEATURES_OK;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	bad = s;
	bad.queues[2].ready = true;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	CHECK_STR(why, "virtio: a queue this device does not have is ready");
	bad = s;
	bad.queues[1].used = FAKE_RAM_BYTES;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	bad = s;
	bad.queues[0].used_idx = 2;
	CHECK_EQ_I(virtio_mmio_check_state(&dst->t, &bad, &why), FERR_INVAL);
	bad = s;
	put16(dst->f, 0x2000 + 2, 3 + 17);   /* the driver's index more than a queue ahead */
	CHECK_EQ_I(virtio_mmio_load(&dst->t, &bad, &why), FERR_INVAL);
	CHECK_STR(why, "the available index ran more than the queue size ahead");
	/* A refused load changed nothing. */
	CHECK_EQ_U(dst->t.s.queues[0].last_avail, 3);
	bench_free(dst);
	bench_free(b);
}

int main(void)
{
	return run_tests();
}
