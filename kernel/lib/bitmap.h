/*
 * Bitmaps of uint64_t words, bit i of the map in word i / 64, bit i % 64: the page
 * and frame maps of the allocator, dirty logging and migration. Header-only and
 * freestanding: the population count is the classic SWAR sum, since the image is
 * built without the POPCNT instruction (-mgeneral-regs-only, no -mpopcnt) and
 * without libgcc's __popcountdi2.
 */
#ifndef FERRY_LIB_BITMAP_H
#define FERRY_LIB_BITMAP_H

#include <stdbool.h>
#include <stdint.h>

#define BITMAP_WORD_BITS 64u

/* Words needed for a map of `bits` bits. */
static inline uint64_t bitmap_words(uint64_t bits)
{
	return (bits + BITMAP_WORD_BITS - 1) / BITMAP_WORD_BITS;
}

static inline bool bitmap_test(const uint64_t *map, uint64_t i)
{
	return (map[i / BITMAP_WORD_BITS] >> (i % BITMAP_WORD_BITS)) & 1u;
}

static inline void bitmap_set(uint64_t *map, uint64_t i)
{
	map[i / BITMAP_WORD_BITS] |= 1ull << (i % BITMAP_WORD_BITS);
}

static inline void bitmap_clear(uint64_t *map, uint64_t i)
{
	map[i / BITMAP_WORD_BITS] &= ~(1ull << (i % BITMAP_WORD_BITS));
}

/* Set bits of one word. */
static inline unsigned bitmap_word_weight(uint64_t v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

/* Set bits among the first `bits` bits (bits past them in the last word must be clear). */
static inline uint64_t bitmap_weight(const uint64_t *map, uint64_t bits)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < bitmap_words(bits); w++)
		n += bitmap_word_weight(map[w]);
	return n;
}

/* The first set bit at or after i, or `bits` when there is none. */
static inline uint64_t bitmap_next_set(const uint64_t *map, uint64_t i, uint64_t bits)
{
	while (i < bits) {
		uint64_t word = map[i / BITMAP_WORD_BITS] >> (i % BITMAP_WORD_BITS);
		if (word) {
			uint64_t found = i + (uint64_t)__builtin_ctzll(word);
			return found < bits ? found : bits;
		}
		i = (i / BITMAP_WORD_BITS + 1) * BITMAP_WORD_BITS;
	}
	return bits;
}

/* The first clear bit at or after i, or `bits` when there is none. */
static inline uint64_t bitmap_next_clear(const uint64_t *map, uint64_t i, uint64_t bits)
{
	while (i < bits) {
		uint64_t word = ~map[i / BITMAP_WORD_BITS] >> (i % BITMAP_WORD_BITS);
		if (word) {
			uint64_t found = i + (uint64_t)__builtin_ctzll(word);
			return found < bits ? found : bits;
		}
		i = (i / BITMAP_WORD_BITS + 1) * BITMAP_WORD_BITS;
	}
	return bits;
}

/*
 * dst |= src over `words` words; returns how many bits were set in src and not
 * yet in dst (the newly found ones).
 */
static inline uint64_t bitmap_or_count_new(uint64_t *dst, const uint64_t *src, uint64_t words)
{
	uint64_t fresh = 0;

	for (uint64_t w = 0; w < words; w++) {
		fresh += bitmap_word_weight(src[w] & ~dst[w]);
		dst[w] |= src[w];
	}
	return fresh;
}

#endif
