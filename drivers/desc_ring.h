/*
 * A descriptor ring shared with a device, one buffer per descriptor: the e1000's
 * RX and TX rings are each one of these. Portable (image and host), unit tested in
 * tests/unit/test_desc_ring.c.
 *
 * The ring owns no memory: desc_ring_init() lays it over a descriptor area and a
 * run of equal buffers that the driver allocated, and zeroes the descriptors. The
 * buffers' physical address is given too, since that is what a descriptor holds;
 * the descriptors' format is the device's business (the driver fills them).
 *
 * Indices run free and are taken modulo the ring's size (a power of two, so the
 * slot stays right when a count wraps at 2^32), in the manner of iPXE's rings:
 *   prod  slots the driver has handed to the device (a receive buffer to fill, a
 *         frame to send); the device's tail register is slot(prod);
 *   cons  slots the driver has taken back (a received frame, a sent one).
 * prod - cons slots are with the device. At most size - 1 may be: with all of them
 * handed over, the device's tail would equal its head, which reads as "empty"
 * (8254x SDM 3.2.6 and 3.4: the ring is empty when head equals tail).
 */
#ifndef FERRY_DRIVERS_DESC_RING_H
#define FERRY_DRIVERS_DESC_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct desc_ring {
	void *descs;              /* size descriptors of desc_bytes each */
	uint8_t *buffers;         /* size buffers of buffer_bytes each */
	uint64_t buffers_phys;    /* the buffers' physical address */
	unsigned size;            /* a power of two, at least 2 */
	unsigned desc_bytes;
	unsigned buffer_bytes;
	uint32_t prod;            /* slots handed to the device, ever */
	uint32_t cons;            /* slots taken back, ever */
};

/* Lays the ring over its memory, zeroes the descriptors; nothing is with the device. */
static inline void desc_ring_init(struct desc_ring *r, unsigned size, void *descs,
				  unsigned desc_bytes, uint8_t *buffers, uint64_t buffers_phys,
				  unsigned buffer_bytes)
{
	r->descs = descs;
	r->buffers = buffers;
	r->buffers_phys = buffers_phys;
	r->size = size;
	r->desc_bytes = desc_bytes;
	r->buffer_bytes = buffer_bytes;
	r->prod = 0;
	r->cons = 0;
	memset(descs, 0, (size_t)size * desc_bytes);
}

/* The slot a running count stands for. */
static inline unsigned desc_ring_slot(const struct desc_ring *r, uint32_t count)
{
	return count & (r->size - 1);
}

static inline void *desc_ring_desc(const struct desc_ring *r, unsigned slot)
{
	return (uint8_t *)r->descs + (size_t)slot * r->desc_bytes;
}

static inline uint8_t *desc_ring_buffer(const struct desc_ring *r, unsigned slot)
{
	return r->buffers + (size_t)slot * r->buffer_bytes;
}

static inline uint64_t desc_ring_buffer_phys(const struct desc_ring *r, unsigned slot)
{
	return r->buffers_phys + (uint64_t)slot * r->buffer_bytes;
}

/* Slots with the device: handed over and not yet taken back. */
static inline unsigned desc_ring_in_flight(const struct desc_ring *r)
{
	return r->prod - r->cons;
}

/* True when no further slot may be handed over (size - 1 are with the device). */
static inline bool desc_ring_full(const struct desc_ring *r)
{
	return desc_ring_in_flight(r) == r->size - 1;
}

/* Hands every slot that may be handed over to the device (a receive ring's refill). */
static inline void desc_ring_fill(struct desc_ring *r)
{
	r->prod = r->cons + r->size - 1;
}

#endif
