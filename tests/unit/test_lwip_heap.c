/* lwIP's size-class heap (net/lwip_heap.c). */
#include "check.h"
#include "net/lwip_heap.h"

#include <stdint.h>
#include <stdlib.h>

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
	CHECK_EQ_U(got, (REGION - LWIP_HEAP_MAX_BLOCK) / 2048);
	struct lwip_heap_stats s;
	lwip_heap_get_stats(&s);
	CHECK(s.failures >= 2);
	CHECK_EQ_U(s.carved_bytes, REGION);
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
}

int main(void)
{
	return run_tests();
}
