/*
 * The memory lwIP runs on: a size-class allocator over one region of frames that
 * net/lwip_port.c takes from Ferry's allocator (owner "lwip"). lwIP's heap and
 * its pools (MEMP_MEM_MALLOC) both allocate here (net/lwipopts.h).
 *
 * Portable (image and host). A buddy allocator: blocks are powers of two from
 * 32 bytes to 64 KiB, each with a 16-byte header naming its class. The region
 * starts with a bitmap (one bit per 32 bytes: a free block starts here) and is
 * carved into 64 KiB blocks on demand; a request takes the smallest free block
 * that fits, split in halves down to its class, and a freed block merges with
 * its buddy while that is free, so that memory one class gave back serves any
 * other (a burst of segments, later freed, leaves room for pbufs). O(classes)
 * per call. The region's size is the hard bound on what network traffic can
 * make lwIP hold; the pools within it are bounded by net/lwip_pools.c.
 */
#ifndef FERRY_NET_LWIP_HEAP_H
#define FERRY_NET_LWIP_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define LWIP_HEAP_MIN_BLOCK  32u
#define LWIP_HEAP_MAX_BLOCK  65536u
#define LWIP_HEAP_HEADER     16u

struct lwip_heap_stats {
	size_t region_bytes;   /* the whole region */
	size_t carved_bytes;   /* 64 KiB blocks taken from the region so far (in use or free) */
	size_t used_bytes;     /* in blocks handed out now (block sizes, headers included) */
	size_t peak_bytes;     /* most ever in use */
	uint64_t allocations;
	uint64_t failures;     /* requests that found no memory */
	uint64_t bad_frees;    /* frees of pointers that were not live blocks (ignored) */
};

/* Takes [base, base+size) (16-byte aligned) as the heap, its bitmap first; forgets any previous one. */
void lwip_heap_init(void *base, size_t size);
void *lwip_heap_malloc(size_t size);
void *lwip_heap_calloc(size_t count, size_t size);
void lwip_heap_free(void *p);
void lwip_heap_get_stats(struct lwip_heap_stats *out);

#endif
