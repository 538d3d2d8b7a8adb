/*
 * Page stamping for memtest, shared by the guest and a host unit test: each page
 * holds its index, its generation and a pattern derived from both over the whole page.
 */
#ifndef FERRY_GUEST_MEMTEST_H
#define FERRY_GUEST_MEMTEST_H

#include <stdint.h>

#define MEMTEST_PAGE_WORDS 512u
#define MEMTEST_WORD_INDEX 0u
#define MEMTEST_WORD_GEN   1u

static inline uint64_t memtest_word(uint64_t page, uint64_t gen, uint64_t word)
{
	/* splitmix64's finalizer over (page, gen, word): every word differs. */
	uint64_t x = (page << 32 ^ gen) + (word + 1) * 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t memtest_expected(uint64_t page, uint64_t gen, uint64_t word)
{
	if (word == MEMTEST_WORD_INDEX)
		return page;
	if (word == MEMTEST_WORD_GEN)
		return gen;
	return memtest_word(page, gen, word);
}

static inline void memtest_stamp(volatile uint64_t *words, uint64_t page, uint64_t gen)
{
	for (uint64_t w = 0; w < MEMTEST_PAGE_WORDS; w++)
		words[w] = memtest_expected(page, gen, w);
}

/* Returns MEMTEST_PAGE_WORDS if the page is intact, else the first bad word. */
static inline uint64_t memtest_check(const volatile uint64_t *words, uint64_t page, uint64_t gen)
{
	for (uint64_t w = 0; w < MEMTEST_PAGE_WORDS; w++)
		if (words[w] != memtest_expected(page, gen, w))
			return w;
	return MEMTEST_PAGE_WORDS;
}

#endif
