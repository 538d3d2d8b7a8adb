/*
 * Physical frame allocator: a bitmap over the 4 KiB frames of physical memory,
 * built from the firmware's memory map, with per-owner accounting.
 *
 * Portable (image and host). The caller supplies the bitmap storage. Every frame
 * starts out unavailable; frame_alloc_add_region() makes usable RAM available.
 * Allocations are contiguous runs with an alignment, found next-fit from a hint,
 * and are charged to an owner (Ferry itself, a guest, the NIC rings...), so that
 * `info` and `list` can say who holds what and `destroy` can prove it returned
 * everything.
 */
#ifndef FERRY_FRAME_ALLOC_H
#define FERRY_FRAME_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_SHIFT 12
#define FRAME_SIZE  (1ull << FRAME_SHIFT)

struct frame_owner {
	const char *name;
	uint64_t frames;       /* held now */
	uint64_t peak_frames;  /* most ever held at once */
};

struct frame_allocator {
	uint64_t *bitmap;        /* bit set: frame in use or not RAM */
	uint64_t frame_count;    /* frames 0 .. frame_count-1 are covered */
	uint64_t total_frames;   /* usable RAM frames ever added */
	uint64_t free_frames;
	uint64_t hint;           /* where the next search starts */
};

/* Bytes of bitmap needed to cover frame_count frames (a multiple of 8). */
size_t frame_alloc_bitmap_bytes(uint64_t frame_count);

/* Covers frames [0, frame_count); all start unavailable. */
void frame_alloc_init(struct frame_allocator *fa, uint64_t *bitmap, uint64_t frame_count);

/*
 * Marks usable RAM available. Frames outside the covered range are ignored, and
 * frame 0 is never made available, so that physical address 0 can mean "none".
 */
void frame_alloc_add_region(struct frame_allocator *fa, uint64_t phys, uint64_t frames);

/* Takes specific frames (which must be free) and charges them to owner. */
int frame_alloc_claim(struct frame_allocator *fa, struct frame_owner *owner,
		      uint64_t phys, uint64_t frames);

/*
 * Allocates `frames` contiguous frames aligned to `align_frames` (a power of two,
 * 1 for none) and charges them to owner. On success stores the first address in
 * *phys and returns 0; FERR_NOMEM when no run fits, FERR_INVAL for bad arguments.
 */
int frame_alloc(struct frame_allocator *fa, struct frame_owner *owner,
		uint64_t frames, uint64_t align_frames, uint64_t *phys);

/*
 * Returns frames to the pool. FERR_INVAL, and no change, when any of them is not
 * allocated or the owner holds fewer frames than that (a double free or a free
 * charged to the wrong owner).
 */
int frame_free(struct frame_allocator *fa, struct frame_owner *owner,
	       uint64_t phys, uint64_t frames);

bool frame_is_free(const struct frame_allocator *fa, uint64_t phys);

#endif
