/* The virtio-net device (kernel/vdev/virtio_net.c) driven as Linux drives it, over a fake RAM. */
#include "check.h"
#include "virtio_fixtures.h"
#include "kernel/vdev/virtio_net.h"
#include "kernel/lib/errors.h"

#include <stdlib.h>

/* Where the test driver puts its rings and buffers in the 64 KiB fake RAM. */
#define RX_DESC 0x1000u
#define RX_AVAIL 0x2000u
#define RX_USED 0x2400u
#define TX_DESC 0x3000u
#define TX_AVAIL 0x4000u
#define TX_USED 0x4400u
#define CQ_DESC 0x5000u
#define CQ_AVAIL 0x5400u
#define CQ_USED 0x5600u
#define RX_BUFS 0x8000u     /* RX buffer i at RX_BUFS + i * RX_BUF_BYTES */
#define TX_BUFS 0xc000u
#define RX_BUF_BYTES 0x800u
#define DATA_QSIZE 16u
#define CTRL_QSIZE 8u

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

#define ALL_FEATURES (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | \
	VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) | \
	VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE))
#define BASIC_FEATURES (VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) | \
	VIRTIO_FEATURE(VIRTIO_NET_F_STATUS))

struct drv {
	struct fake_ram f;
	struct virtio_net n;
	struct drv_queue rx, tx, ctrl;
	/* The switch port's side. */
	unsigned sent;
	uint8_t last[VIRTIO_NET_MAX_FRAME + 64];
	size_t last_len;
	bool busy;
	bool echo;       /* answer each frame at once, as Ferry's own stack does */
	/* The interrupt line. */
	bool line;
	unsigned rises;
};

static int port_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct drv *d = ctx;
	if (d->busy)
		return FERR_BUSY;
	d->sent++;
	memcpy(d->last, frame, len);
	d->last_len = len;
	if (d->echo)
		virtio_net_receive(&d->n, d->last, len);
	return FERR_OK;
}

static void port_line(void *ctx, bool high)
{
	struct drv *d = ctx;
	if (high && !d->line)
		d->rises++;
	d->line = high;
}

static uint32_t nr(struct drv *d, uint32_t offset, unsigned size)
{
	uint64_t v = 0;
	CHECK_EQ_I(virtio_net_mmio_read(&d->n, offset, size, &v), FERR_OK);
	return (uint32_t)v;
}

static void nw(struct drv *d, uint32_t offset, uint32_t value)
{
	CHECK_EQ_I(virtio_net_mmio_write(&d->n, offset, 4, value), FERR_OK);
}

static void setup_queue(struct drv *d, struct drv_queue *q, uint32_t index)
{
	nw(d, VIRTIO_MMIO_QUEUE_SEL, index);
	nw(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
	nw(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	nw(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	nw(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
	nw(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	nw(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
	nw(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	nw(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static struct drv *drv_new(void)
{
	struct drv *d = calloc(1, sizeof(*d));
	fake_ram_init(&d->f);
	virtio_net_init(&d->n, MAC, &d->f.ram, port_send, d, port_line, d);
	drv_queue_init(&d->rx, RX_DESC, RX_AVAIL, RX_USED, DATA_QSIZE);
	drv_queue_init(&d->tx, TX_DESC, TX_AVAIL, TX_USED, DATA_QSIZE);
	drv_queue_init(&d->ctrl, CQ_DESC, CQ_AVAIL, CQ_USED, CTRL_QSIZE);
	return d;
}

/* Linux's virtnet_probe over virtio_mmio: negotiate, set up the queues, DRIVER_OK. */
static void drv_up(struct drv *d, uint64_t features)
{
	uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE;
	nw(d, VIRTIO_MMIO_STATUS, 0);
	nw(d, VIRTIO_MMIO_STATUS, status);
	nw(d, VIRTIO_MMIO_STATUS, status |= VIRTIO_STATUS_DRIVER);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	nw(d, VIRTIO_MMIO_STATUS, status |= VIRTIO_STATUS_FEATURES_OK);
	CHECK(nr(d, VIRTIO_MMIO_STATUS, 4) & VIRTIO_STATUS_FEATURES_OK);
	setup_queue(d, &d->rx, VIRTIO_NET_RXQ);
	setup_queue(d, &d->tx, VIRTIO_NET_TXQ);
	if (features & VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ))
		setup_queue(d, &d->ctrl, VIRTIO_NET_CTRLQ);
	nw(d, VIRTIO_MMIO_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
	CHECK(virtio_mmio_running(&d->n.mmio));
}

/* Posts receive buffer i (RX_BUF_BYTES, or `bytes`) as Linux's small-buffer mode does. */
static void post_rx(struct drv *d, unsigned i, uint32_t bytes)
{
	struct drv_seg seg = { RX_BUFS + i * RX_BUF_BYTES, bytes, true };
	drv_add(&d->f, &d->rx, &seg, 1);
}

static void make_frame(uint8_t *frame, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		frame[i] = (uint8_t)(seed + i * 7);
	memcpy(frame + 6, MAC, 6);
}

/* Queues a frame for transmission: the header in its own descriptor, or in front of the
 * data (VERSION_1 implies any layout). Returns nothing; the caller notifies. */
static void queue_tx(struct drv *d, unsigned slot, const uint8_t *frame, size_t len, bool split)
{
	uint64_t at = TX_BUFS + slot * 0x800u;
	memset(d->f.mem + at, 0, VIRTIO_NET_HDR_BYTES);
	memcpy(d->f.mem + at + VIRTIO_NET_HDR_BYTES, frame, len);
	if (split) {
		struct drv_seg segs[] = { { at, VIRTIO_NET_HDR_BYTES, false },
					  { at + VIRTIO_NET_HDR_BYTES, (uint32_t)len, false } };
		drv_add(&d->f, &d->tx, segs, 2);
	} else {
		struct drv_seg seg = { at, (uint32_t)(VIRTIO_NET_HDR_BYTES + len), false };
		drv_add(&d->f, &d->tx, &seg, 1);
	}
}

static void notify(struct drv *d, unsigned queue)
{
	nw(d, VIRTIO_MMIO_QUEUE_NOTIFY, queue);
}

TEST(config_space_and_offer)
{
	struct drv *d = drv_new();
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_DEVICE_ID, 4), VIRTIO_ID_NET);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_DEVICE_FEATURES, 4), (uint32_t)ALL_FEATURES);
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG + i, 1), MAC[i]);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CONFIG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	nw(d, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_NET_CTRLQ);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), VIRTIO_NET_CTRL_QUEUE_SIZE);
	nw(d, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_NET_RXQ);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), VIRTIO_NET_DATA_QUEUE_SIZE);
	/* A driver cannot rewrite the MAC: the switch port is pinned to it. */
	CHECK_EQ_I(virtio_net_mmio_write(&d->n, VIRTIO_MMIO_CONFIG, 1, 0xff), FERR_OK);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG, 1), MAC[0]);
	/* GUEST_ANNOUNCE without the control queue it depends on is refused. */
	nw(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << VIRTIO_NET_F_GUEST_ANNOUNCE);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	nw(d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	nw(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				  VIRTIO_STATUS_FEATURES_OK);
	CHECK(!(nr(d, VIRTIO_MMIO_STATUS, 4) & VIRTIO_STATUS_FEATURES_OK));
	free(d);
}

TEST(receive_fills_a_posted_buffer)
{
	struct drv *d = drv_new();
	uint8_t frame[100];
	uint32_t id, len;
	drv_up(d, ALL_FEATURES);
	post_rx(d, 0, RX_BUF_BYTES);
	notify(d, VIRTIO_NET_RXQ);
	make_frame(frame, sizeof(frame), 1);
	fake_ram_mark(&d->f);
	virtio_net_receive(&d->n, frame, sizeof(frame));
	CHECK(fake_ram_changes_reported(&d->f));
	CHECK(drv_take_used(&d->f, &d->rx, &id, &len));
	CHECK_EQ_U(id, 0);
	CHECK_EQ_U(len, VIRTIO_NET_HDR_BYTES + sizeof(frame));
	CHECK_EQ_U(get16(&d->f, RX_BUFS + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	CHECK_EQ_U(get16(&d->f, RX_BUFS), 0);   /* flags, gso_type: no offloads */
	CHECK(memcmp(d->f.mem + RX_BUFS + VIRTIO_NET_HDR_BYTES, frame, sizeof(frame)) == 0);
	CHECK(d->line);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_USED_BUFFER);
	CHECK_EQ_U(d->n.counters.rx_frames, 1);
	CHECK_EQ_U(d->n.counters.rx_bytes, sizeof(frame));
	free(d);
}

TEST(receive_drops_are_counted_by_cause)
{
	struct drv *d = drv_new();
	uint8_t frame[VIRTIO_NET_MAX_FRAME + 1];
	make_frame(frame, sizeof(frame), 2);
	virtio_net_receive(&d->n, frame, 60);                           /* driver not there */
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_STOPPED], 1);
	drv_up(d, BASIC_FEATURES);
	virtio_net_receive(&d->n, frame, 60);                           /* nothing posted */
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_NO_BUFFER], 1);
	virtio_net_receive(&d->n, frame, VIRTIO_NET_MIN_FRAME - 1);
	virtio_net_receive(&d->n, frame, VIRTIO_NET_MAX_FRAME + 1);
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_BAD_FRAME], 2);
	/* A buffer too small for the frame stays posted for the next, smaller one. */
	post_rx(d, 0, VIRTIO_NET_HDR_BYTES + 64);
	virtio_net_receive(&d->n, frame, 65);
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_SMALL_BUFFER], 1);
	virtio_net_receive(&d->n, frame, 64);
	CHECK_EQ_U(d->n.counters.rx_frames, 1);
	/* Paused for a migration. */
	post_rx(d, 1, RX_BUF_BYTES);
	virtio_net_quiesce(&d->n);
	virtio_net_receive(&d->n, frame, 64);
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_PAUSED], 1);
	virtio_net_resume(&d->n);
	virtio_net_receive(&d->n, frame, VIRTIO_NET_MAX_FRAME);
	CHECK_EQ_U(d->n.counters.rx_frames, 2);
	CHECK_STR(virtio_net_rx_drop_name(VIRTIO_NET_RX_DROP_SMALL_BUFFER), "small_buffer");
	CHECK_STR(virtio_net_tx_drop_name(VIRTIO_NET_TX_DROP_OVERSIZE), "oversize");
	free(d);
}

TEST(no_interrupt_while_the_driver_suppresses_it)
{
	struct drv *d = drv_new();
	uint8_t frame[60];
	uint32_t id, len;
	make_frame(frame, sizeof(frame), 3);
	drv_up(d, BASIC_FEATURES);
	drv_set_avail_flags(&d->f, &d->rx, VIRTQ_AVAIL_F_NO_INTERRUPT);   /* NAPI polling */
	post_rx(d, 0, RX_BUF_BYTES);
	virtio_net_receive(&d->n, frame, sizeof(frame));
	CHECK(drv_take_used(&d->f, &d->rx, &id, &len));
	CHECK(!d->line);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_INTERRUPT_STATUS, 4), 0);
	free(d);
}

TEST(transmit_hands_each_chain_to_the_port)
{
	struct drv *d = drv_new();
	uint8_t a[60], b[VIRTIO_NET_MAX_FRAME];
	uint32_t id, len;
	make_frame(a, sizeof(a), 4);
	make_frame(b, sizeof(b), 5);
	drv_up(d, BASIC_FEATURES);
	queue_tx(d, 0, a, sizeof(a), true);
	queue_tx(d, 1, b, sizeof(b), false);
	fake_ram_mark(&d->f);
	notify(d, VIRTIO_NET_TXQ);
	CHECK(fake_ram_changes_reported(&d->f));
	CHECK_EQ_U(d->sent, 2);
	CHECK_EQ_U(d->last_len, sizeof(b));
	CHECK(memcmp(d->last, b, sizeof(b)) == 0);
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK_EQ_U(id, 0);
	CHECK_EQ_U(len, 0);
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK_EQ_U(id, 2);
	CHECK_EQ_U(d->n.counters.tx_frames, 2);
	CHECK_EQ_U(d->n.counters.tx_bytes, sizeof(a) + sizeof(b));
	CHECK_EQ_U(d->rises, 1);   /* one interrupt for the batch */
	free(d);
}

TEST(transmit_drops_runts_and_oversize_but_completes_them)
{
	struct drv *d = drv_new();
	uint8_t big[VIRTIO_NET_MAX_FRAME + 1];
	uint32_t id, len;
	make_frame(big, sizeof(big), 6);
	drv_up(d, BASIC_FEATURES);
	queue_tx(d, 0, big, VIRTIO_NET_MIN_FRAME - 1, true);
	queue_tx(d, 1, big, sizeof(big), false);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, 0);
	CHECK_EQ_U(d->n.counters.tx_drops[VIRTIO_NET_TX_DROP_RUNT], 1);
	CHECK_EQ_U(d->n.counters.tx_drops[VIRTIO_NET_TX_DROP_OVERSIZE], 1);
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK(virtio_mmio_running(&d->n.mmio));
	free(d);
}

TEST(a_busy_port_stalls_transmit_in_order)
{
	struct drv *d = drv_new();
	uint8_t a[60], b[70];
	uint32_t id, len;
	make_frame(a, sizeof(a), 7);
	make_frame(b, sizeof(b), 8);
	drv_up(d, BASIC_FEATURES);
	queue_tx(d, 0, a, sizeof(a), false);
	queue_tx(d, 1, b, sizeof(b), false);
	d->busy = true;
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, 0);
	CHECK(!drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK(virtio_net_poll(&d->n));
	CHECK_EQ_U(d->n.counters.tx_stalls, 2);
	d->busy = false;
	CHECK(!virtio_net_poll(&d->n));
	CHECK_EQ_U(d->sent, 2);
	CHECK_EQ_U(d->last_len, sizeof(b));
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK_EQ_U(id, 0);
	free(d);
}

TEST(a_pass_stops_at_its_budget_and_the_poll_goes_on)
{
	struct drv *d = drv_new();
	const unsigned count = VIRTIO_NET_TX_BUDGET + 6, qsize = 128;
	uint8_t a[60];
	uint32_t id, len;
	make_frame(a, sizeof(a), 9);
	drv_queue_init(&d->tx, TX_DESC, TX_AVAIL, TX_USED, qsize);
	drv_up(d, BASIC_FEATURES);
	for (unsigned i = 0; i < count; i++)
		queue_tx(d, 0, a, sizeof(a), false);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, VIRTIO_NET_TX_BUDGET);
	CHECK_EQ_U(d->n.counters.tx_budget_yields, 1);
	CHECK_EQ_U(d->rises, 1);   /* what the pass sent is completed and notified */
	unsigned used = 0;
	while (drv_take_used(&d->f, &d->tx, &id, &len))
		used++;
	CHECK_EQ_U(used, VIRTIO_NET_TX_BUDGET);
	CHECK(!virtio_net_poll(&d->n));   /* the next scheduling round: the rest */
	CHECK_EQ_U(d->sent, count);
	while (drv_take_used(&d->f, &d->tx, &id, &len))
		used++;
	CHECK_EQ_U(used, count);
	CHECK(!virtio_net_poll(&d->n));
	CHECK_EQ_U(d->sent, count);
	/* A pass that ends exactly at the budget with nothing left is no yield. */
	for (unsigned i = 0; i < VIRTIO_NET_TX_BUDGET; i++)
		queue_tx(d, 0, a, sizeof(a), false);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->n.counters.tx_budget_yields, 1);
	CHECK(!d->n.tx_pending);
	/* Quiescing for a migration drains past the budget: nothing may stay in flight. */
	for (unsigned i = 0; i < count; i++)
		queue_tx(d, 0, a, sizeof(a), false);
	virtio_net_quiesce(&d->n);
	CHECK_EQ_U(d->sent, 2 * count + VIRTIO_NET_TX_BUDGET);
	CHECK_EQ_U(d->n.counters.tx_budget_yields, 1);
	CHECK(!virtio_net_poll(&d->n));
	free(d);
}

TEST(a_reply_delivered_from_inside_send_lands_in_the_receive_ring)
{
	struct drv *d = drv_new();
	uint8_t a[60], b[90];
	uint32_t id, len;
	make_frame(a, sizeof(a), 12);
	make_frame(b, sizeof(b), 13);
	drv_up(d, BASIC_FEATURES);
	post_rx(d, 0, RX_BUF_BYTES);
	post_rx(d, 1, RX_BUF_BYTES);
	d->echo = true;
	queue_tx(d, 0, a, sizeof(a), true);
	queue_tx(d, 1, b, sizeof(b), false);
	fake_ram_mark(&d->f);
	notify(d, VIRTIO_NET_TXQ);
	CHECK(fake_ram_changes_reported(&d->f));
	CHECK_EQ_U(d->sent, 2);
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK_EQ_U(id, 0);
	CHECK(drv_take_used(&d->f, &d->tx, &id, &len));
	CHECK_EQ_U(id, 2);
	CHECK(drv_take_used(&d->f, &d->rx, &id, &len));
	CHECK_EQ_U(len, VIRTIO_NET_HDR_BYTES + sizeof(a));
	CHECK(drv_take_used(&d->f, &d->rx, &id, &len));
	CHECK_EQ_U(id, 1);
	CHECK_EQ_U(len, VIRTIO_NET_HDR_BYTES + sizeof(b));
	CHECK(memcmp(d->f.mem + RX_BUFS + RX_BUF_BYTES + VIRTIO_NET_HDR_BYTES, b, sizeof(b)) == 0);
	/* A broken receive ring found from inside send stops the transmit loop too, with
	 * the open chain completed: nothing stays in flight. */
	queue_tx(d, 2, a, sizeof(a), false);
	queue_tx(d, 3, a, sizeof(a), false);
	put16(&d->f, RX_AVAIL + 2, 200);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, 3);
	CHECK_STR(virtio_net_failure(&d->n), "the available index ran more than the queue size ahead");
	const struct virtq *tx = &d->n.mmio.s.queues[VIRTIO_NET_TXQ];
	CHECK_EQ_U(tx->last_avail, tx->used_idx);
	free(d);
}

TEST(a_corrupt_ring_stops_only_this_device)
{
	struct drv *d = drv_new();
	uint8_t frame[60];
	make_frame(frame, sizeof(frame), 9);
	drv_up(d, BASIC_FEATURES);
	/* A transmit chain that loops on itself. */
	drv_write_desc(&d->f, &d->tx, 0, TX_BUFS, 60, VIRTQ_DESC_F_NEXT, 0);
	drv_publish(&d->f, &d->tx, 0);
	fake_ram_mark(&d->f);
	notify(d, VIRTIO_NET_TXQ);
	CHECK(fake_ram_changes_reported(&d->f));
	CHECK_EQ_U(d->sent, 0);
	CHECK(nr(d, VIRTIO_MMIO_STATUS, 4) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_STR(virtio_net_failure(&d->n), "a descriptor chain is longer than the queue (a loop?)");
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_CONFIG);
	/* Frames for it are dropped meanwhile; notifies do nothing. */
	post_rx(d, 0, RX_BUF_BYTES);
	virtio_net_receive(&d->n, frame, sizeof(frame));
	CHECK_EQ_U(d->n.counters.rx_drops[VIRTIO_NET_RX_DROP_STOPPED], 1);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, 0);
	/* The driver resets and starts again with fresh rings. */
	memset(d->f.mem, 0, FAKE_RAM_BYTES);
	drv_queue_init(&d->rx, RX_DESC, RX_AVAIL, RX_USED, DATA_QSIZE);
	drv_queue_init(&d->tx, TX_DESC, TX_AVAIL, TX_USED, DATA_QSIZE);
	drv_up(d, BASIC_FEATURES);
	CHECK(virtio_net_failure(&d->n) == NULL);
	queue_tx(d, 0, frame, sizeof(frame), false);
	notify(d, VIRTIO_NET_TXQ);
	CHECK_EQ_U(d->sent, 1);
	free(d);
}

TEST(announce_after_migration_and_its_acknowledge)
{
	struct drv *d = drv_new();
	uint32_t id, len;
	drv_up(d, BASIC_FEATURES);
	CHECK(!virtio_net_announce(&d->n));   /* not negotiated */
	drv_up(d, ALL_FEATURES);
	uint32_t gen = nr(d, VIRTIO_MMIO_CONFIG_GENERATION, 4);
	CHECK(virtio_net_announce(&d->n));
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CONFIG_STATUS, 2),
		   VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG_GENERATION, 4), gen + 1);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_CONFIG);
	/* Linux's virtnet_ack_link_announce: class, command; then the ack byte. */
	uint8_t cmd[2] = { VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK };
	memcpy(d->f.mem + TX_BUFS, cmd, 2);
	d->f.mem[TX_BUFS + 2] = 0xee;
	struct drv_seg segs[] = { { TX_BUFS, 2, false }, { TX_BUFS + 2, 1, true } };
	drv_set_avail_flags(&d->f, &d->ctrl, VIRTQ_AVAIL_F_NO_INTERRUPT);   /* no callback */
	drv_add(&d->f, &d->ctrl, segs, 2);
	fake_ram_mark(&d->f);
	notify(d, VIRTIO_NET_CTRLQ);
	CHECK(fake_ram_changes_reported(&d->f));
	CHECK(drv_take_used(&d->f, &d->ctrl, &id, &len));
	CHECK_EQ_U(len, 1);
	CHECK_EQ_U(d->f.mem[TX_BUFS + 2], VIRTIO_NET_OK);
	CHECK_EQ_U(nr(d, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CONFIG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ_U(d->n.counters.announce_acks, 1);
	/* Any other command is refused. */
	d->f.mem[TX_BUFS] = 0;   /* VIRTIO_NET_CTRL_RX, not offered */
	drv_add(&d->f, &d->ctrl, segs, 2);
	notify(d, VIRTIO_NET_CTRLQ);
	CHECK(drv_take_used(&d->f, &d->ctrl, &id, &len));
	CHECK_EQ_U(d->f.mem[TX_BUFS + 2], VIRTIO_NET_ERR);
	CHECK_EQ_U(d->n.counters.ctrl_refused, 1);
	free(d);
}

/* Copies the guest (RAM and device state) to a second device, as a migration does. */
static struct drv *migrate(struct drv *src)
{
	struct virtio_net_state s, back;
	uint8_t payload[VIRTIO_NET_STATE_BYTES + 8];
	const char *why = NULL;
	struct drv *dst = drv_new();

	CHECK_EQ_I(virtio_net_save(&src->n, &s), FERR_OK);
	CHECK_EQ_I(virtio_net_state_encode(&s, payload, sizeof(payload)), VIRTIO_NET_STATE_BYTES);
	CHECK_EQ_I(virtio_net_state_decode(VIRTIO_NET_STATE_VERSION, payload,
					   VIRTIO_NET_STATE_BYTES, &back, &why), FERR_OK);
	CHECK(memcmp(&s, &back, sizeof(s)) == 0);
	memcpy(dst->f.mem, src->f.mem, FAKE_RAM_BYTES);
	dst->rx = src->rx;
	dst->tx = src->tx;
	dst->ctrl = src->ctrl;
	CHECK_EQ_I(virtio_net_load(&dst->n, &back, &why), FERR_OK);
	return dst;
}

TEST(quiesce_save_load_resume)
{
	struct drv *src = drv_new();
	uint8_t frame[80];
	uint32_t id, len;
	make_frame(frame, sizeof(frame), 10);
	drv_up(src, ALL_FEATURES);
	post_rx(src, 0, RX_BUF_BYTES);
	post_rx(src, 1, RX_BUF_BYTES);
	virtio_net_receive(&src->n, frame, sizeof(frame));
	/* Two frames queued, the port busy: the quiesce completes both anyway. */
	queue_tx(src, 0, frame, sizeof(frame), false);
	src->busy = true;
	notify(src, VIRTIO_NET_TXQ);
	queue_tx(src, 1, frame, sizeof(frame), true);
	struct virtio_net_state s;
	CHECK_EQ_I(virtio_net_save(&src->n, &s), FERR_BUSY);   /* not quiesced */
	fake_ram_mark(&src->f);
	virtio_net_quiesce(&src->n);
	CHECK(fake_ram_changes_reported(&src->f));
	CHECK_EQ_U(src->n.counters.tx_drops[VIRTIO_NET_TX_DROP_PAUSED], 2);
	CHECK_EQ_U(src->n.mmio.s.queues[VIRTIO_NET_TXQ].last_avail, 2);
	CHECK_EQ_U(src->n.mmio.s.queues[VIRTIO_NET_TXQ].used_idx, 2);
	virtio_net_receive(&src->n, frame, sizeof(frame));
	CHECK_EQ_U(src->n.counters.rx_drops[VIRTIO_NET_RX_DROP_PAUSED], 1);

	struct drv *dst = migrate(src);
	virtio_net_receive(&dst->n, frame, sizeof(frame));   /* before GO: still quiesced */
	CHECK_EQ_U(dst->n.counters.rx_drops[VIRTIO_NET_RX_DROP_PAUSED], 1);
	virtio_net_resume(&dst->n);
	CHECK(dst->line);   /* the pending interrupt reaches the guest on this host */
	CHECK(virtio_net_announce(&dst->n));
	virtio_net_receive(&dst->n, frame, sizeof(frame));
	/* The driver sees both receive buffers used, in order, the second on this host. */
	CHECK(drv_take_used(&dst->f, &dst->rx, &id, &len));
	CHECK_EQ_U(id, 0);
	CHECK(drv_take_used(&dst->f, &dst->rx, &id, &len));
	CHECK_EQ_U(id, 1);
	CHECK_EQ_U(len, VIRTIO_NET_HDR_BYTES + sizeof(frame));
	/* Transmit goes on from where the source stopped. */
	queue_tx(dst, 2, frame, sizeof(frame), false);
	notify(dst, VIRTIO_NET_TXQ);
	CHECK_EQ_U(dst->sent, 1);
	free(dst);
	free(src);
}

TEST(a_failed_migration_resumes_on_the_source)
{
	struct drv *d = drv_new();
	uint8_t frame[60];
	make_frame(frame, sizeof(frame), 11);
	drv_up(d, BASIC_FEATURES);
	virtio_net_quiesce(&d->n);
	queue_tx(d, 0, frame, sizeof(frame), false);
	notify(d, VIRTIO_NET_TXQ);                 /* a paused device takes nothing */
	CHECK_EQ_U(d->sent, 0);
	virtio_net_resume(&d->n);
	CHECK_EQ_U(d->sent, 1);                    /* sent at the resume */
	post_rx(d, 0, RX_BUF_BYTES);
	virtio_net_receive(&d->n, frame, sizeof(frame));
	CHECK_EQ_U(d->n.counters.rx_frames, 1);
	free(d);
}

TEST(saved_state_is_validated)
{
	struct drv *d = drv_new();
	struct virtio_net_state s, out;
	uint8_t payload[VIRTIO_NET_STATE_BYTES];
	const char *why = NULL;
	drv_up(d, ALL_FEATURES);
	virtio_net_quiesce(&d->n);
	CHECK_EQ_I(virtio_net_save(&d->n, &s), FERR_OK);
	CHECK_EQ_I(virtio_net_state_encode(&s, payload, sizeof(payload) - 1), FERR_TOOBIG);
	CHECK_EQ_I(virtio_net_state_encode(&s, payload, sizeof(payload)), VIRTIO_NET_STATE_BYTES);
	CHECK_EQ_I(virtio_net_state_decode(2, payload, sizeof(payload), &out, &why), FERR_NOTSUP);
	CHECK_EQ_I(virtio_net_state_decode(1, payload, sizeof(payload) - 1, &out, &why), FERR_INVAL);
	CHECK_STR(why, "virtio-net: the state section has the wrong length");
	/* The ready byte of queue 0 sits after 32 bytes of transport and 30 of the queue. */
	payload[32 + 30] = 2;
	CHECK_EQ_I(virtio_net_state_decode(1, payload, sizeof(payload), &out, &why), FERR_INVAL);
	payload[32 + 30] = 1;
	payload[32 + 31] = 1;   /* its reserved byte */
	CHECK_EQ_I(virtio_net_state_decode(1, payload, sizeof(payload), &out, &why), FERR_INVAL);

	struct drv *other = drv_new();
	other->n.mac[5] ^= 1;
	memcpy(other->f.mem, d->f.mem, FAKE_RAM_BYTES);
	CHECK_EQ_I(virtio_net_load(&other->n, &s, &why), FERR_INVAL);
	CHECK_STR(why, "virtio-net: the saved device has another MAC than this guest's NIC");
	other->n.mac[5] ^= 1;
	struct virtio_net_state bad = s;
	bad.net_status |= 0x8;
	CHECK_EQ_I(virtio_net_check_state(&other->n, &bad, &why), FERR_INVAL);
	bad = s;
	bad.mmio.queues[VIRTIO_NET_RXQ].desc = FAKE_RAM_BYTES;
	CHECK_EQ_I(virtio_net_check_state(&other->n, &bad, &why), FERR_INVAL);
	CHECK_EQ_I(virtio_net_check_state(&other->n, &s, &why), FERR_OK);
	free(other);
	free(d);
}

int main(void)
{
	return run_tests();
}
