/* lwIP's buddy heap; see lwip_heap.h. */
#include "net/lwip_heap.h"

#include <stdbool.h>
#include <string.h>

#define CLASS_COUNT   12              /* 32 << 0 .. 32 << 11 = 64 KiB */
#define TOP_CLASS     (CLASS_COUNT - 1)
#define MAGIC_LIVE    0x4c495645u     /* "LIVE" */
#define MAGIC_FREE    0x46524545u     /* "FREE" */
#define BITS_PER_WORD 64u

_Static_assert(LWIP_HEAP_MAX_BLOCK == LWIP_HEAP_MIN_BLOCK << TOP_CLASS, "classes span MIN..MAX");

struct block_header {
	uint32_t magic;
	uint32_t size_class;
};

/* A free block: its header, then the links of its class's list (within the smallest block). */
struct free_block {
	struct block_header h;
	struct free_block *next, *prev;
};

_Static_assert(sizeof(struct block_header) <= LWIP_HEAP_HEADER, "header fits its slot");
_Static_assert(sizeof(struct free_block) <= LWIP_HEAP_MIN_BLOCK, "a free block's links fit the smallest block");

static struct {
	uint8_t *arena;        /* blocks are carved from here, offsets relative to it */
	size_t arena_bytes;    /* a multiple of LWIP_HEAP_MAX_BLOCK */
	size_t carved;         /* top blocks taken from the arena so far */
	uint64_t *free_start;  /* one bit per smallest block: a free block starts here */
	struct free_block *free_list[CLASS_COUNT];
	struct lwip_heap_stats stats;
} heap;

static size_t class_bytes(unsigned size_class)
{
	return (size_t)LWIP_HEAP_MIN_BLOCK << size_class;
}

void lwip_heap_init(void *base, size_t size)
{
	/* The bitmap takes the region's start: one bit per smallest block of what is left. */
	size_t bitmap_bytes = (size / LWIP_HEAP_MIN_BLOCK / BITS_PER_WORD + 1) * sizeof(uint64_t);
	size_t rest = size > bitmap_bytes ? size - bitmap_bytes : 0;

	memset(&heap, 0, sizeof(heap));
	heap.free_start = base;
	memset(base, 0, size < bitmap_bytes ? size : bitmap_bytes);
	heap.arena = (uint8_t *)base + bitmap_bytes;
	heap.arena_bytes = rest / LWIP_HEAP_MAX_BLOCK * LWIP_HEAP_MAX_BLOCK;
	heap.stats.region_bytes = size;
}

/* ---- the free-start bitmap and the lists --------------------------------------------- */

static size_t index_of(const void *block)
{
	return (size_t)((const uint8_t *)block - heap.arena) / LWIP_HEAP_MIN_BLOCK;
}

static bool starts_free(size_t index)
{
	return heap.free_start[index / BITS_PER_WORD] >> (index % BITS_PER_WORD) & 1;
}

static void set_starts_free(size_t index, bool on)
{
	uint64_t bit = 1ull << (index % BITS_PER_WORD);

	if (on)
		heap.free_start[index / BITS_PER_WORD] |= bit;
	else
		heap.free_start[index / BITS_PER_WORD] &= ~bit;
}

static void push_free(struct free_block *b, unsigned size_class)
{
	b->h = (struct block_header){ MAGIC_FREE, size_class };
	b->prev = NULL;
	b->next = heap.free_list[size_class];
	if (b->next)
		b->next->prev = b;
	heap.free_list[size_class] = b;
	set_starts_free(index_of(b), true);
}

static void unlink_free(struct free_block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		heap.free_list[b->h.size_class] = b->next;
	if (b->next)
		b->next->prev = b->prev;
	set_starts_free(index_of(b), false);
}

/* ---- allocation ------------------------------------------------------------------------ */

/* The smallest class whose blocks hold size bytes plus the header; CLASS_COUNT if none. */
static unsigned class_of(size_t size)
{
	if (size > LWIP_HEAP_MAX_BLOCK - LWIP_HEAP_HEADER)
		return CLASS_COUNT;
	unsigned c = 0;
	while (class_bytes(c) < size + LWIP_HEAP_HEADER)
		c++;
	return c;
}

/* A free block of class c: from its list, else split from the smallest larger one, else carved. */
static struct free_block *take_block(unsigned c)
{
	unsigned from = c;
	struct free_block *b;

	while (from < CLASS_COUNT && !heap.free_list[from])
		from++;
	if (from < CLASS_COUNT) {
		b = heap.free_list[from];
		unlink_free(b);
	} else {
		if (heap.arena_bytes - heap.carved < LWIP_HEAP_MAX_BLOCK)
			return NULL;
		b = (struct free_block *)(heap.arena + heap.carved);
		heap.carved += LWIP_HEAP_MAX_BLOCK;
		heap.stats.carved_bytes = heap.carved;
		from = TOP_CLASS;
	}
	/* Halve down to c: each upper half goes on the list of its class. */
	while (from > c) {
		from--;
		push_free((struct free_block *)((uint8_t *)b + class_bytes(from)), from);
	}
	return b;
}

void *lwip_heap_malloc(size_t size)
{
	unsigned c = class_of(size ? size : 1);
	struct free_block *b = c < CLASS_COUNT ? take_block(c) : NULL;

	if (!b) {
		heap.stats.failures++;
		return NULL;
	}
	b->h = (struct block_header){ MAGIC_LIVE, c };
	heap.stats.allocations++;
	heap.stats.used_bytes += class_bytes(c);
	if (heap.stats.used_bytes > heap.stats.peak_bytes)
		heap.stats.peak_bytes = heap.stats.used_bytes;
	return (uint8_t *)b + LWIP_HEAP_HEADER;
}

void *lwip_heap_calloc(size_t count, size_t size)
{
	if (size && count > (size_t)-1 / size)
		return NULL;
	void *p = lwip_heap_malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

/* ---- freeing ----------------------------------------------------------------------------- */

static bool is_live_block(const uint8_t *p)
{
	if (p < heap.arena + LWIP_HEAP_HEADER || p >= heap.arena + heap.carved)
		return false;
	size_t offset = (size_t)(p - LWIP_HEAP_HEADER - heap.arena);
	if (offset % LWIP_HEAP_MIN_BLOCK || starts_free(offset / LWIP_HEAP_MIN_BLOCK))
		return false;
	const struct block_header *b = (const struct block_header *)(p - LWIP_HEAP_HEADER);
	return b->magic == MAGIC_LIVE && b->size_class < CLASS_COUNT && offset % class_bytes(b->size_class) == 0;
}

void lwip_heap_free(void *p)
{
	if (!p)
		return;
	if (!is_live_block(p)) {
		heap.stats.bad_frees++;
		return;
	}
	struct free_block *b = (struct free_block *)((uint8_t *)p - LWIP_HEAP_HEADER);
	unsigned c = b->h.size_class;

	b->h.magic = MAGIC_FREE;   /* merged into a lower buddy, it is no longer a block: a second free is refused */
	heap.stats.used_bytes -= class_bytes(c);
	/*
	 * Merge with the buddy while it is free and whole (a free block starts there and
	 * has the same class), so that memory freed in one class serves any other. The
	 * bitmap, not the buddy's bytes, says whether it is free: a live block's
	 * contents (network data) can look like anything.
	 */
	while (c < TOP_CLASS) {
		size_t offset = (size_t)((uint8_t *)b - heap.arena);
		struct free_block *buddy = (struct free_block *)(heap.arena + (offset ^ class_bytes(c)));
		if (!starts_free(index_of(buddy)) || buddy->h.size_class != c)
			break;
		unlink_free(buddy);
		if (buddy < b)
			b = buddy;
		c++;
	}
	push_free(b, c);
}

void lwip_heap_get_stats(struct lwip_heap_stats *out)
{
	*out = heap.stats;
}
