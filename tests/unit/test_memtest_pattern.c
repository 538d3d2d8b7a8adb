/* Host tests of memtest's page stamping (tests/guests/memtest.h): what it detects. */
#include <stdint.h>

#include "check.h"
#include "tests/guests/memtest.h"

static uint64_t page_a[MEMTEST_PAGE_WORDS], page_b[MEMTEST_PAGE_WORDS];

TEST(stamped_page_verifies)
{
	memtest_stamp(page_a, 7, 3);
	CHECK_EQ_U(memtest_check(page_a, 7, 3), MEMTEST_PAGE_WORDS);
	CHECK_EQ_U(page_a[MEMTEST_WORD_INDEX], 7);
	CHECK_EQ_U(page_a[MEMTEST_WORD_GEN], 3);
}

TEST(every_single_bit_flip_found_at_its_word)
{
	for (unsigned w = 0; w < MEMTEST_PAGE_WORDS; w += 37) {
		for (unsigned bit = 0; bit < 64; bit += 13) {
			memtest_stamp(page_a, 12, 5);
			page_a[w] ^= 1ull << bit;
			CHECK_EQ_U(memtest_check(page_a, 12, 5), w);
		}
	}
}

TEST(stale_generation_and_wrong_page_found)
{
	memtest_stamp(page_a, 4, 9);
	/* An older generation of the same page (a write lost in migration). */
	CHECK_EQ_U(memtest_check(page_a, 4, 10), MEMTEST_WORD_GEN);
	/* Another page's content with the same generation (a misplaced copy). */
	CHECK_EQ_U(memtest_check(page_a, 5, 9), MEMTEST_WORD_INDEX);
	/* Content words alone differ too, not just the header. */
	memtest_stamp(page_b, 4, 10);
	unsigned same = 0;
	for (unsigned w = 2; w < MEMTEST_PAGE_WORDS; w++)
		same += page_a[w] == page_b[w];
	CHECK_EQ_U(same, 0);
	memtest_stamp(page_b, 5, 9);
	same = 0;
	for (unsigned w = 2; w < MEMTEST_PAGE_WORDS; w++)
		same += page_a[w] == page_b[w];
	CHECK_EQ_U(same, 0);
}

TEST(zeroed_page_is_not_valid)
{
	memset(page_a, 0, sizeof(page_a));
	CHECK(memtest_check(page_a, 0, 1) != MEMTEST_PAGE_WORDS);
	CHECK(memtest_check(page_a, 0, 0) != MEMTEST_PAGE_WORDS);
}

int main(void) { return run_tests(); }
