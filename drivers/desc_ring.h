/*
 * Index arithmetic of a descriptor ring shared with a device (the e1000's RX and
 * TX rings). Portable (image and host), unit tested in tests/unit/test_desc_ring.c.
 *
 * The driver produces at `head` (next slot it fills) and reclaims at `tail`
 * (oldest slot the device may still own). One slot always stays empty so that
 * head == tail means "empty" and never "full", as the e1000's TDH/TDT convention
 * wants (8254x SDM 3.4: the ring is empty when head equals tail).
 */
#ifndef FERRY_DRIVERS_DESC_RING_H
#define FERRY_DRIVERS_DESC_RING_H

#include <stdbool.h>

static inline unsigned ring_next(unsigned index, unsigned size)
{
	return index + 1 == size ? 0 : index + 1;
}

static inline unsigned ring_prev(unsigned index, unsigned size)
{
	return index == 0 ? size - 1 : index - 1;
}

/* Slots between tail and head: filled and not yet reclaimed. */
static inline unsigned ring_used(unsigned head, unsigned tail, unsigned size)
{
	return head >= tail ? head - tail : size - tail + head;
}

/* Slots that may still be filled (one is always kept empty). */
static inline unsigned ring_free(unsigned head, unsigned tail, unsigned size)
{
	return size - 1 - ring_used(head, tail, size);
}

static inline bool ring_full(unsigned head, unsigned tail, unsigned size)
{
	return ring_next(head, size) == tail;
}

#endif
