/* Physical frame allocator; see frame_alloc.h for the contract. */
#include "kernel/frame_alloc.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define BITS_PER_WORD 64

static bool bit_test(const uint64_t *bitmap, uint64_t frame)
{
	return bitmap[frame / BITS_PER_WORD] & (1ull << (frame % BITS_PER_WORD));
}

static void bit_set(uint64_t *bitmap, uint64_t frame)
{
	bitmap[frame / BITS_PER_WORD] |= 1ull << (frame % BITS_PER_WORD);
}

static void bit_clear(uint64_t *bitmap, uint64_t frame)
{
	bitmap[frame / BITS_PER_WORD] &= ~(1ull << (frame % BITS_PER_WORD));
}

size_t frame_alloc_bitmap_bytes(uint64_t frame_count)
{
	return (size_t)((frame_count + BITS_PER_WORD - 1) / BITS_PER_WORD) * sizeof(uint64_t);
}

void frame_alloc_init(struct frame_allocator *fa, uint64_t *bitmap, uint64_t frame_count)
{
	fa->bitmap = bitmap;
	fa->frame_count = frame_count;
	fa->total_frames = 0;
	fa->free_frames = 0;
	fa->hint = 0;
	memset(bitmap, 0xff, frame_alloc_bitmap_bytes(frame_count));
}

void frame_alloc_add_region(struct frame_allocator *fa, uint64_t phys, uint64_t frames)
{
	uint64_t first = phys >> FRAME_SHIFT;

	if (first == 0) {  /* frame 0 is never handed out: address 0 means "none" */
		first = 1;
		frames = frames ? frames - 1 : 0;
	}
	for (uint64_t f = first; f < first + frames && f < fa->frame_count; f++) {
		if (bit_test(fa->bitmap, f)) {
			bit_clear(fa->bitmap, f);
			fa->total_frames++;
			fa->free_frames++;
		}
	}
}

bool frame_is_free(const struct frame_allocator *fa, uint64_t phys)
{
	uint64_t f = phys >> FRAME_SHIFT;

	return f < fa->frame_count && !bit_test(fa->bitmap, f);
}

static void charge(struct frame_owner *owner, uint64_t frames)
{
	owner->frames += frames;
	if (owner->frames > owner->peak_frames)
		owner->peak_frames = owner->frames;
}

static bool run_is_free(const struct frame_allocator *fa, uint64_t first, uint64_t frames)
{
	if (first + frames > fa->frame_count || first + frames < first)
		return false;
	for (uint64_t f = first; f < first + frames; f++)
		if (bit_test(fa->bitmap, f))
			return false;
	return true;
}

static void take_run(struct frame_allocator *fa, struct frame_owner *owner,
		     uint64_t first, uint64_t frames)
{
	for (uint64_t f = first; f < first + frames; f++)
		bit_set(fa->bitmap, f);
	fa->free_frames -= frames;
	charge(owner, frames);
}

int frame_alloc_claim(struct frame_allocator *fa, struct frame_owner *owner,
		      uint64_t phys, uint64_t frames)
{
	if (phys % FRAME_SIZE || frames == 0)
		return FERR_INVAL;
	if (!run_is_free(fa, phys >> FRAME_SHIFT, frames))
		return FERR_INVAL;
	take_run(fa, owner, phys >> FRAME_SHIFT, frames);
	return FERR_OK;
}

/* Searches [from, to) for a free aligned run; returns its first frame or UINT64_MAX. */
static uint64_t find_run(const struct frame_allocator *fa, uint64_t from, uint64_t to,
			 uint64_t frames, uint64_t align)
{
	uint64_t f = (from + align - 1) & ~(align - 1);

	while (f + frames <= to) {
		/* Skip whole used words quickly when no alignment constrains the start. */
		if (align == 1 && f % BITS_PER_WORD == 0 && fa->bitmap[f / BITS_PER_WORD] == ~0ull) {
			f += BITS_PER_WORD;
			continue;
		}
		uint64_t run = 0;
		while (run < frames && !bit_test(fa->bitmap, f + run))
			run++;
		if (run == frames)
			return f;
		/* The run broke at f+run, which is used: restart after it. */
		f = (f + run + 1 + align - 1) & ~(align - 1);
	}
	return UINT64_MAX;
}

int frame_alloc(struct frame_allocator *fa, struct frame_owner *owner,
		uint64_t frames, uint64_t align_frames, uint64_t *phys)
{
	if (frames == 0 || align_frames == 0 || (align_frames & (align_frames - 1)))
		return FERR_INVAL;
	if (frames > fa->free_frames)
		return FERR_NOMEM;

	uint64_t f = find_run(fa, fa->hint, fa->frame_count, frames, align_frames);
	if (f == UINT64_MAX)
		f = find_run(fa, 0, fa->frame_count, frames, align_frames);
	if (f == UINT64_MAX)
		return FERR_NOMEM;
	take_run(fa, owner, f, frames);
	fa->hint = f + frames;
	*phys = f << FRAME_SHIFT;
	return FERR_OK;
}

int frame_free(struct frame_allocator *fa, struct frame_owner *owner,
	       uint64_t phys, uint64_t frames)
{
	uint64_t first = phys >> FRAME_SHIFT;

	if (phys % FRAME_SIZE || frames == 0 || frames > owner->frames)
		return FERR_INVAL;
	if (first + frames > fa->frame_count || first + frames < first)
		return FERR_INVAL;
	for (uint64_t f = first; f < first + frames; f++)
		if (!bit_test(fa->bitmap, f))
			return FERR_INVAL;
	for (uint64_t f = first; f < first + frames; f++)
		bit_clear(fa->bitmap, f);
	fa->free_frames += frames;
	owner->frames -= frames;
	return FERR_OK;
}
