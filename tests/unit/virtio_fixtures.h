/*
 * Test fixtures for the virtio modules (kernel/vdev/virtqueue.c, virtio_mmio.c,
 * virtio_net.c): a fake guest RAM whose dirty hook records every reported byte, a check
 * that every byte the device changed was reported, and the driver's side of a split
 * virtqueue (descriptors, available ring, used ring) written by hand as a driver would.
 * Host only; shared by the unit tests and tests/fuzz/fuzz_virtio_net.c.
 */
#ifndef FERRY_TESTS_VIRTIO_FIXTURES_H
#define FERRY_TESTS_VIRTIO_FIXTURES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernel/vdev/virtqueue.h"

#define FAKE_RAM_BYTES 0x10000u

struct fake_ram {
	uint8_t mem[FAKE_RAM_BYTES];
	uint8_t before[FAKE_RAM_BYTES];   /* a copy taken by fake_ram_mark() */
	uint8_t dirty[FAKE_RAM_BYTES];    /* 1 where the device reported a write */
	unsigned dirty_calls;
	bool dirty_outside;               /* a reported range was not inside RAM */
	uint32_t dirty_lo, dirty_hi;      /* the span of the reports since the last mark */
	struct virtq_ram ram;
};

static inline void fake_ram_dirty(void *ctx, uint64_t gpa, uint64_t len)
{
	struct fake_ram *f = ctx;
	f->dirty_calls++;
	if (gpa > FAKE_RAM_BYTES || len > FAKE_RAM_BYTES - gpa) {
		f->dirty_outside = true;
		return;
	}
	memset(f->dirty + gpa, 1, len);
	if (gpa < f->dirty_lo)
		f->dirty_lo = (uint32_t)gpa;
	if (gpa + len > f->dirty_hi)
		f->dirty_hi = (uint32_t)(gpa + len);
}

static inline void fake_ram_init(struct fake_ram *f)
{
	memset(f, 0, sizeof(*f));
	f->dirty_lo = FAKE_RAM_BYTES;
	f->ram = (struct virtq_ram){ .base = f->mem, .size = FAKE_RAM_BYTES,
				     .dirty = fake_ram_dirty, .dirty_ctx = f };
}

static inline void fake_ram_forget_reports(struct fake_ram *f)
{
	f->dirty_calls = 0;
	f->dirty_outside = false;
	f->dirty_lo = FAKE_RAM_BYTES;
	f->dirty_hi = 0;
}

/* Remembers RAM as it is and forgets the reported writes. */
static inline void fake_ram_mark(struct fake_ram *f)
{
	memcpy(f->before, f->mem, FAKE_RAM_BYTES);
	memset(f->dirty, 0, FAKE_RAM_BYTES);
	fake_ram_forget_reports(f);
}

/*
 * The same, cheaply, when only reported bytes changed since the last mark (the fuzzer
 * checks that first, and mirrors its own guest writes into `before`).
 */
static inline void fake_ram_remark(struct fake_ram *f)
{
	if (f->dirty_lo < f->dirty_hi) {
		memcpy(f->before + f->dirty_lo, f->mem + f->dirty_lo, f->dirty_hi - f->dirty_lo);
		memset(f->dirty + f->dirty_lo, 0, f->dirty_hi - f->dirty_lo);
	}
	fake_ram_forget_reports(f);
}

/* True when every byte that changed since fake_ram_mark() was reported dirty. */
static inline bool fake_ram_changes_reported(const struct fake_ram *f)
{
	if (f->dirty_outside)
		return false;
	if (memcmp(f->mem, f->before, FAKE_RAM_BYTES) == 0)
		return true;
	for (uint32_t i = 0; i < FAKE_RAM_BYTES; i++)
		if (f->mem[i] != f->before[i] && !f->dirty[i])
			return false;
	return true;
}

static inline void put16(struct fake_ram *f, uint64_t gpa, uint16_t v) { memcpy(f->mem + gpa, &v, 2); }
static inline void put32(struct fake_ram *f, uint64_t gpa, uint32_t v) { memcpy(f->mem + gpa, &v, 4); }
static inline void put64(struct fake_ram *f, uint64_t gpa, uint64_t v) { memcpy(f->mem + gpa, &v, 8); }
static inline uint16_t get16(const struct fake_ram *f, uint64_t gpa) { uint16_t v; memcpy(&v, f->mem + gpa, 2); return v; }
static inline uint32_t get32(const struct fake_ram *f, uint64_t gpa) { uint32_t v; memcpy(&v, f->mem + gpa, 4); return v; }

/* The driver's view of one queue. */
struct drv_queue {
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx;   /* the next available index the driver publishes */
	uint16_t used_seen;   /* used entries the driver has consumed */
	uint16_t next_desc;   /* descriptors handed out round-robin */
};

struct drv_seg {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;
};

static inline void drv_queue_init(struct drv_queue *d, uint64_t desc, uint64_t avail, uint64_t used,
			   uint16_t size)
{
	*d = (struct drv_queue){ .desc = desc, .avail = avail, .used = used, .size = size };
}

/* The device's struct virtq for the same queue, as the transport would fill it. */
static inline struct virtq drv_virtq(const struct drv_queue *d)
{
	return (struct virtq){ .desc = d->desc, .avail = d->avail, .used = d->used,
			       .size = d->size, .ready = true };
}

static inline void drv_write_desc(struct fake_ram *f, const struct drv_queue *d, uint16_t i,
			   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint64_t at = d->desc + (uint64_t)i * VIRTQ_DESC_BYTES;
	put64(f, at, addr);
	put32(f, at + 8, len);
	put16(f, at + 12, flags);
	put16(f, at + 14, next);
}

/* Publishes descriptor `head` in the available ring. */
static inline void drv_publish(struct fake_ram *f, struct drv_queue *d, uint16_t head)
{
	put16(f, d->avail + 4 + 2u * (d->avail_idx % d->size), head);
	d->avail_idx++;
	put16(f, d->avail + 2, d->avail_idx);
}

/* Writes a chain of n segments into consecutive descriptors and publishes it; returns the head. */
static inline uint16_t drv_add(struct fake_ram *f, struct drv_queue *d, const struct drv_seg *segs,
			unsigned n)
{
	uint16_t head = d->next_desc % d->size;
	for (unsigned i = 0; i < n; i++) {
		uint16_t me = (uint16_t)((d->next_desc + i) % d->size);
		uint16_t next = (uint16_t)((d->next_desc + i + 1) % d->size);
		uint16_t flags = (uint16_t)((segs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		drv_write_desc(f, d, me, segs[i].gpa, segs[i].len, flags, i + 1 < n ? next : 0);
	}
	d->next_desc = (uint16_t)(d->next_desc + n);
	drv_publish(f, d, head);
	return head;
}

static inline void drv_set_avail_flags(struct fake_ram *f, const struct drv_queue *d, uint16_t flags)
{
	put16(f, d->avail, flags);
}

/* Takes the next used element: true with its id and length, false when none is new. */
static inline bool drv_take_used(struct fake_ram *f, struct drv_queue *d, uint32_t *id, uint32_t *len)
{
	if (get16(f, d->used + 2) == d->used_seen)
		return false;
	uint64_t at = d->used + 4 + 8u * (d->used_seen % d->size);
	*id = get32(f, at);
	*len = get32(f, at + 4);
	d->used_seen++;
	return true;
}

#endif
