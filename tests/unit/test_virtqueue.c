/* Split virtqueues over a fake guest RAM (kernel/vdev/virtqueue.c): chains, limits, dirty reports. */
#include "check.h"
#include "virtio_fixtures.h"
#include "kernel/vdev/virtqueue.h"
#include "kernel/lib/errors.h"

#include <stdlib.h>

#define DESC  0x1000u
#define AVAIL 0x2000u
#define USED  0x3000u
#define BUF   0x4000u
#define QSIZE 16u

static struct fake_ram *ram_new(void)
{
	struct fake_ram *f = malloc(sizeof(*f));
	fake_ram_init(f);
	return f;
}

static void setup(struct fake_ram **f, struct drv_queue *d, struct virtq *q)
{
	*f = ram_new();
	drv_queue_init(d, DESC, AVAIL, USED, QSIZE);
	*q = drv_virtq(d);
}

TEST(ram_bounds_are_overflow_safe)
{
	struct fake_ram *f = ram_new();
	uint8_t b[4];
	CHECK(virtq_ram_contains(&f->ram, 0, FAKE_RAM_BYTES));
	CHECK(virtq_ram_contains(&f->ram, FAKE_RAM_BYTES, 0));
	CHECK(!virtq_ram_contains(&f->ram, FAKE_RAM_BYTES - 1, 2));
	CHECK(!virtq_ram_contains(&f->ram, FAKE_RAM_BYTES + 1, 0));
	CHECK(!virtq_ram_contains(&f->ram, 8, UINT64_MAX));
	CHECK(!virtq_ram_contains(&f->ram, UINT64_MAX - 1, 4));
	CHECK_EQ_I(virtq_ram_read(&f->ram, FAKE_RAM_BYTES - 2, b, 4), FERR_RANGE);
	fake_ram_mark(f);
	CHECK_EQ_I(virtq_ram_write(&f->ram, FAKE_RAM_BYTES - 2, b, 4), FERR_RANGE);
	CHECK_EQ_U(f->dirty_calls, 0);
	CHECK_EQ_I(virtq_ram_write(&f->ram, 0x100, "abcd", 4), FERR_OK);
	CHECK_EQ_U(f->dirty_calls, 1);
	CHECK(f->dirty[0x100] && f->dirty[0x103] && !f->dirty[0x104]);
	free(f);
}

TEST(layout_rules)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	const char *why = NULL;
	setup(&f, &d, &q);

	CHECK_EQ_I(virtq_check_layout(&q, QSIZE, &f->ram, &why), FERR_OK);
	struct virtq bad = q;
	bad.size = 0;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad.size = 12;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad.size = 32;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad = q;
	bad.desc = DESC + 8;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad = q;
	bad.avail = AVAIL + 1;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad = q;
	bad.used = USED + 2;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad = q;
	bad.desc = FAKE_RAM_BYTES - VIRTQ_DESC_BYTES;   /* the table's end past RAM */
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	CHECK_STR(why, "the descriptor table is outside guest RAM");
	bad = q;
	bad.avail = UINT64_MAX - 1;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	bad = q;
	bad.used = FAKE_RAM_BYTES - 8;
	CHECK_EQ_I(virtq_check_layout(&bad, QSIZE, &f->ram, &why), FERR_INVAL);
	CHECK_STR(why, "the used ring is outside guest RAM");
	free(f);
}

TEST(pop_copies_a_chain_and_push_reports_its_writes)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	struct virtq_chain c;
	const char *why = NULL;
	setup(&f, &d, &q);

	struct drv_seg segs[] = { { BUF, 10, false }, { BUF + 0x100, 6, false },
				  { BUF + 0x200, 100, true }, { BUF + 0x400, 28, true } };
	uint16_t head = drv_add(f, &d, segs, 4);
	memcpy(f->mem + BUF, "0123456789", 10);
	memcpy(f->mem + BUF + 0x100, "abcdef", 6);
	CHECK_EQ_I(virtq_avail_count(&q, &f->ram, &why), 1);
	CHECK_EQ_I(virtq_pop(&q, &f->ram, &c, &why), 1);
	CHECK_EQ_U(c.head, head);
	CHECK_EQ_U(c.count, 4);
	CHECK_EQ_U(c.readable, 16);
	CHECK_EQ_U(c.writable, 128);
	CHECK_EQ_U(q.last_avail, 1);

	char got[17] = { 0 };
	CHECK_EQ_U(virtq_chain_read(&c, &f->ram, 0, got, 16), 16);
	CHECK_STR(got, "0123456789abcdef");
	memset(got, 0, sizeof(got));
	CHECK_EQ_U(virtq_chain_read(&c, &f->ram, 8, got, 100), 8);   /* across segments, clipped */
	CHECK_STR(got, "89abcdef");

	/* The guest rewriting its descriptors now changes nothing the device uses. */
	drv_write_desc(f, &d, head, FAKE_RAM_BYTES * 4, 1, 0, 0);
	fake_ram_mark(f);
	uint8_t data[120];
	memset(data, 0x5a, sizeof(data));
	CHECK_EQ_U(virtq_chain_write(&c, &f->ram, 90, data, sizeof(data)), 38);
	CHECK_EQ_U(f->mem[BUF + 0x200 + 90], 0x5a);
	CHECK_EQ_U(f->mem[BUF + 0x200 + 89], 0);
	CHECK_EQ_U(f->mem[BUF + 0x400 + 27], 0x5a);
	CHECK_EQ_U(f->mem[BUF + 0x400 + 28], 0);
	CHECK_EQ_I(virtq_push(&q, &f->ram, c.head, 128, &why), FERR_OK);
	CHECK(fake_ram_changes_reported(f));
	CHECK_EQ_U(f->dirty_calls, 4);   /* two data pieces, the used element, the used index */

	uint32_t id, len;
	CHECK(drv_take_used(f, &d, &id, &len));
	CHECK_EQ_U(id, head);
	CHECK_EQ_U(len, 128);
	CHECK_EQ_U(q.used_idx, 1);
	CHECK_EQ_I(virtq_pop(&q, &f->ram, &c, &why), 0);
	free(f);
}

TEST(unpop_gives_the_chain_back)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	struct virtq_chain c;
	const char *why;
	setup(&f, &d, &q);
	struct drv_seg seg = { BUF, 64, true };
	uint16_t first = drv_add(f, &d, &seg, 1);
	drv_add(f, &d, &seg, 1);
	CHECK_EQ_I(virtq_pop(&q, &f->ram, &c, &why), 1);
	virtq_unpop(&q);
	CHECK_EQ_I(virtq_avail_count(&q, &f->ram, &why), 2);
	CHECK_EQ_I(virtq_pop(&q, &f->ram, &c, &why), 1);
	CHECK_EQ_U(c.head, first);
	free(f);
}

/* Each broken rule is refused with nothing taken. */
static void expect_refused(struct fake_ram *f, struct virtq *q, const char *reason)
{
	struct virtq_chain c;
	const char *why = NULL;
	uint16_t before = q->last_avail;
	CHECK_EQ_I(virtq_pop(q, &f->ram, &c, &why), FERR_INVAL);
	CHECK_STR(why, reason);
	CHECK_EQ_U(q->last_avail, before);
}

TEST(hostile_rings_are_refused)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	setup(&f, &d, &q);

	/* The available index far ahead of the device. */
	put16(f, AVAIL + 2, QSIZE + 1);
	expect_refused(f, &q, "the available index ran more than the queue size ahead");
	put16(f, AVAIL + 2, 0xffff);   /* "behind" is as far ahead, modulo 2^16 */
	expect_refused(f, &q, "the available index ran more than the queue size ahead");

	/* A head beyond the table. */
	put16(f, AVAIL + 2, 1);
	put16(f, AVAIL + 4, QSIZE);
	expect_refused(f, &q, "an available ring entry names a descriptor beyond the table");

	/* next beyond the table. */
	put16(f, AVAIL + 4, 0);
	drv_write_desc(f, &d, 0, BUF, 8, VIRTQ_DESC_F_NEXT, QSIZE);
	expect_refused(f, &q, "a descriptor's next index is beyond the table");

	/* A loop: 0 -> 1 -> 0. */
	drv_write_desc(f, &d, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	drv_write_desc(f, &d, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_refused(f, &q, "a descriptor chain is longer than the queue (a loop?)");
	/* A self-loop too. */
	drv_write_desc(f, &d, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	expect_refused(f, &q, "a descriptor chain is longer than the queue (a loop?)");

	/* Indirect. */
	drv_write_desc(f, &d, 0, BUF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_refused(f, &q, "an indirect descriptor (VIRTIO_F_INDIRECT_DESC is not offered)");

	/* Buffers outside RAM, including by wrapping around. */
	drv_write_desc(f, &d, 0, FAKE_RAM_BYTES - 4, 8, 0, 0);
	expect_refused(f, &q, "a descriptor's buffer is outside guest RAM");
	drv_write_desc(f, &d, 0, UINT64_MAX - 3, 8, VIRTQ_DESC_F_WRITE, 0);
	expect_refused(f, &q, "a descriptor's buffer is outside guest RAM");

	/* Device-readable after device-writable. */
	drv_write_desc(f, &d, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	drv_write_desc(f, &d, 1, BUF, 8, 0, 0);
	expect_refused(f, &q, "a device-readable descriptor follows a device-writable one");
	free(f);
}

TEST(a_chain_over_4_gib_is_refused_without_touching_its_buffers)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	setup(&f, &d, &q);
	/* Claim 2 GiB of RAM: only the rings (inside the real buffer) are read by a pop. */
	f->ram.size = 2ull << 30;
	for (uint16_t i = 0; i < 5; i++)
		drv_write_desc(f, &d, i, 0x40000000, 0x40000000, i < 4 ? VIRTQ_DESC_F_NEXT : 0,
			       (uint16_t)(i + 1));
	drv_publish(f, &d, 0);
	expect_refused(f, &q, "a descriptor chain is longer than 4 GiB");
	free(f);
}

TEST(indices_wrap_at_65536)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	struct virtq_chain c;
	const char *why;
	setup(&f, &d, &q);
	d.avail_idx = d.used_seen = 0xfffe;
	q.last_avail = q.used_idx = 0xfffe;
	put16(f, USED + 2, 0xfffe);
	struct drv_seg seg = { BUF, 32, true };
	for (int i = 0; i < 4; i++)
		drv_add(f, &d, &seg, 1);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_I(virtq_pop(&q, &f->ram, &c, &why), 1);
		CHECK_EQ_I(virtq_push(&q, &f->ram, c.head, 32, &why), FERR_OK);
	}
	CHECK_EQ_U(q.last_avail, 2);
	CHECK_EQ_U(q.used_idx, 2);
	uint32_t id, len;
	int taken = 0;
	while (drv_take_used(f, &d, &id, &len))
		taken++;
	CHECK_EQ_I(taken, 4);
	free(f);
}

TEST(interrupt_suppression_follows_the_avail_flag)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	setup(&f, &d, &q);
	CHECK(!virtq_interrupt_suppressed(&q, &f->ram));
	drv_set_avail_flags(f, &d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(virtq_interrupt_suppressed(&q, &f->ram));
	free(f);
}

TEST(restored_state_is_checked_against_ram)
{
	struct fake_ram *f;
	struct drv_queue d;
	struct virtq q;
	const char *why = NULL;
	setup(&f, &d, &q);
	q.last_avail = q.used_idx = 40;
	put16(f, AVAIL + 2, 40 + QSIZE);
	CHECK_EQ_I(virtq_check_state(&q, QSIZE, &f->ram, &why), FERR_OK);
	put16(f, AVAIL + 2, 40 + QSIZE + 1);
	CHECK_EQ_I(virtq_check_state(&q, QSIZE, &f->ram, &why), FERR_INVAL);
	CHECK_STR(why, "the available index ran more than the queue size ahead");
	put16(f, AVAIL + 2, 41);
	q.used_idx = 39;
	CHECK_EQ_I(virtq_check_state(&q, QSIZE, &f->ram, &why), FERR_INVAL);
	CHECK_STR(why, "a descriptor chain was in flight (last_avail != used_idx)");
	q.used_idx = 40;
	q.used = FAKE_RAM_BYTES;
	CHECK_EQ_I(virtq_check_state(&q, QSIZE, &f->ram, &why), FERR_INVAL);
	free(f);
}

int main(void)
{
	return run_tests();
}
