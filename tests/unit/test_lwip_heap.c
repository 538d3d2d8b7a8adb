/* lwIP's buddy heap (net/lwip_heap.c). */
#include "check.h"
#include "net/lwip_heap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REGION (256 * 1024)

static uint8_t *region(void)
{
	static uint8_t *r;
	if (!r)
		r = aligned_alloc(16, REGION);
	lwip_heap_init(r, REGION);
	return r;
}

TEST(blocks_are_aligned_distinct_and_reused)
{
	region();
	uint8_t *a = lwip_heap_malloc(100), *b = lwip_heap_malloc(100);
	CHECK(a && b && a != b);
	CHECK_EQ_U((uintptr_t)a % 8, 0);
	memset(a, 0xaa, 100);
	memset(b, 0xbb, 100);
	CHECK_EQ_U(a[99], 0xaa);
	lwip_heap_free(a);
	CHECK(lwip_heap_malloc(90) == a);   /* same class: the freed block comes back */
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	CHECK_EQ_U(s.used_bytes, 2 * 128);
	CHECK_EQ_U(s.failures, 0);
}

TEST(limits_and_exhaustion)
{
	region();
	CHECK(lwip_heap_malloc(LWIP_HEAP_MAX_BLOCK) == NULL);   /* header does not fit */
	CHECK(lwip_heap_malloc(LWIP_HEAP_MAX_BLOCK - LWIP_HEAP_HEADER) != NULL);
	unsigned got = 0;
	while (lwip_heap_malloc(2000))
		got++;
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	/* The bitmap takes the region's start: all but one 64 KiB block of the region are carved. */
	CHECK_EQ_U(s.carved_bytes, REGION - LWIP_HEAP_MAX_BLOCK);
	CHECK_EQ_U(got, (s.carved_bytes - LWIP_HEAP_MAX_BLOCK) / 2048);
	CHECK(s.failures >= 2);
}

/* Takes every top-size block there is; returns how many. */
static unsigned take_all_top_blocks(void **out, unsigned cap)
{
	unsigned n = 0;
	while (n < cap && (out[n] = lwip_heap_malloc(LWIP_HEAP_MAX_BLOCK - LWIP_HEAP_HEADER)))
		n++;
	return n;
}

TEST(memory_freed_in_one_class_serves_another)
{
	static void *small[REGION / 32], *top[REGION / LWIP_HEAP_MAX_BLOCK];
	unsigned n = 0;

	region();
	while ((small[n] = lwip_heap_malloc(16)))   /* the smallest class, until nothing is left */
		n++;
	CHECK(n > 1000);
	CHECK(lwip_heap_malloc(LWIP_HEAP_MAX_BLOCK - LWIP_HEAP_HEADER) == NULL);
	for (unsigned i = 0; i < n; i += 2)         /* every other one first: no buddy is free yet */
		lwip_heap_free(small[i]);
	CHECK(lwip_heap_malloc(100) == NULL);
	for (unsigned i = 1; i < n; i += 2)
		lwip_heap_free(small[i]);
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	CHECK_EQ_U(s.used_bytes, 0);
	CHECK_EQ_U(take_all_top_blocks(top, REGION / LWIP_HEAP_MAX_BLOCK), s.carved_bytes / LWIP_HEAP_MAX_BLOCK);
}

TEST(random_sizes_never_overlap_and_all_merges_back)
{
	enum { SLOTS = 512 };
	static uint8_t *live[SLOTS];
	static size_t len[SLOTS];
	static void *top[REGION / LWIP_HEAP_MAX_BLOCK];
	unsigned seed = 12345;

	region();
	for (unsigned step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned i = (seed >> 8) % SLOTS;
		if (live[i]) {
			for (size_t k = 0; k < len[i]; k++)   /* nobody else wrote into it */
				if (live[i][k] != (uint8_t)i) {
					CHECK(0);
					return;
				}
			lwip_heap_free(live[i]);
			live[i] = NULL;
		} else {
			len[i] = 1 + (seed >> 12) % ((seed >> 20) % 4 ? 600 : 20000);
			live[i] = lwip_heap_malloc(len[i]);
			if (live[i])
				memset(live[i], (uint8_t)i, len[i]);
		}
	}
	for (unsigned i = 0; i < SLOTS; i++)
		lwip_heap_free(live[i]);
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	CHECK_EQ_U(s.used_bytes, 0);
	CHECK_EQ_U(s.bad_frees, 0);
	CHECK_EQ_U(take_all_top_blocks(top, REGION / LWIP_HEAP_MAX_BLOCK), (REGION - LWIP_HEAP_MAX_BLOCK) / LWIP_HEAP_MAX_BLOCK);
}

TEST(calloc_zeroes_and_checks_overflow)
{
	region();
	uint8_t *p = lwip_heap_malloc(64);
	memset(p, 0xff, 64);
	lwip_heap_free(p);
	uint8_t *q = lwip_heap_calloc(8, 8);
	CHECK(q == p);
	for (int i = 0; i < 64; i++)
		CHECK_EQ_U(q[i], 0);
	CHECK(lwip_heap_calloc(SIZE_MAX / 2, 4) == NULL);
}

TEST(bad_and_double_frees_are_ignored_and_counted)
{
	uint8_t *r = region();
	uint8_t *p = lwip_heap_malloc(40);
	lwip_heap_free(p);
	lwip_heap_free(p);              /* double free */
	lwip_heap_free(r + 5);          /* not a block */
	lwip_heap_free(NULL);
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	CHECK_EQ_U(s.bad_frees, 2);
	CHECK_EQ_U(s.used_bytes, 0);
	/* The double free did not put the block on the list twice. */
	uint8_t *a = lwip_heap_malloc(40), *b = lwip_heap_malloc(40);
	CHECK(a != b);
	/* A block merged into its lower buddy is no block any more: freeing it again is refused. */
	lwip_heap_free(a);
	lwip_heap_free(b);
	lwip_heap_free(a > b ? a : b);
	lwip_heap_get_stats(&s);
	CHECK_EQ_U(s.bad_frees, 3);
	CHECK_EQ_U(s.used_bytes, 0);
}

int main(void)
{
	return run_tests();
}
