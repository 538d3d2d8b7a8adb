/* lwIP's size-class heap; see lwip_heap.h. */
#include "net/lwip_heap.h"

#include <stdbool.h>
#include <string.h>

#define CLASS_COUNT 12                /* 32 << 0 .. 32 << 11 = 64 KiB */
#define MIN_SHIFT   5
#define MAGIC_LIVE  0x4c495645u       /* "LIVE" */
#define MAGIC_FREE  0x46524545u       /* "FREE" */

struct block_header {
	uint32_t magic;
	uint32_t size_class;
	struct block_header *next_free;  /* on the free list only */
};

_Static_assert(sizeof(struct block_header) <= LWIP_HEAP_HEADER, "header fits its slot");

static struct {
	uint8_t *base;
	size_t size;
	size_t carved;
	struct block_header *free_list[CLASS_COUNT];
	struct lwip_heap_stats stats;
} heap;

void lwip_heap_init(void *base, size_t size)
{
	memset(&heap, 0, sizeof(heap));
	heap.base = base;
	heap.size = size;
	heap.stats.region_bytes = size;
}

static size_t class_bytes(unsigned size_class)
{
	return (size_t)LWIP_HEAP_MIN_BLOCK << size_class;
}

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

void *lwip_heap_malloc(size_t size)
{
	unsigned c = class_of(size ? size : 1);
	struct block_header *b;

	if (c == CLASS_COUNT) {
		heap.stats.failures++;
		return NULL;
	}
	if (heap.free_list[c]) {
		b = heap.free_list[c];
		heap.free_list[c] = b->next_free;
	} else {
		if (heap.size - heap.carved < class_bytes(c)) {
			heap.stats.failures++;
			return NULL;
		}
		b = (struct block_header *)(heap.base + heap.carved);
		heap.carved += class_bytes(c);
		heap.stats.carved_bytes = heap.carved;
	}
	b->magic = MAGIC_LIVE;
	b->size_class = c;
	b->next_free = NULL;
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

static bool is_live_block(const uint8_t *p)
{
	if (p < heap.base + LWIP_HEAP_HEADER || p >= heap.base + heap.carved)
		return false;
	if ((size_t)(p - heap.base) % LWIP_HEAP_MIN_BLOCK != LWIP_HEAP_HEADER % LWIP_HEAP_MIN_BLOCK)
		return false;
	const struct block_header *b = (const struct block_header *)(p - LWIP_HEAP_HEADER);
	return b->magic == MAGIC_LIVE && b->size_class < CLASS_COUNT;
}

void lwip_heap_free(void *p)
{
	if (!p)
		return;
	if (!is_live_block(p)) {
		heap.stats.bad_frees++;
		return;
	}
	struct block_header *b = (struct block_header *)((uint8_t *)p - LWIP_HEAP_HEADER);
	b->magic = MAGIC_FREE;
	heap.stats.used_bytes -= class_bytes(b->size_class);
	b->next_free = heap.free_list[b->size_class];
	heap.free_list[b->size_class] = b;
}

void lwip_heap_get_stats(struct lwip_heap_stats *out)
{
	*out = heap.stats;
}
