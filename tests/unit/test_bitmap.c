/* kernel/lib/bitmap.h against a plain bool-array model. */
#include "kernel/lib/bitmap.h"
#include "check.h"

#include <string.h>

#define BITS 300u

TEST(set_clear_weight_next_against_a_model)
{
	uint64_t map[5];
	bool model[BITS];
	uint64_t seed = 12345;

	memset(map, 0, sizeof(map));
	memset(model, 0, sizeof(model));
	for (unsigned step = 0; step < 2000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned i = (unsigned)((seed >> 33) % BITS);
		if ((seed >> 20) & 1) {
			bitmap_set(map, i);
			model[i] = true;
		} else {
			bitmap_clear(map, i);
			model[i] = false;
		}
	}
	uint64_t weight = 0;
	for (unsigned i = 0; i < BITS; i++) {
		CHECK(bitmap_test(map, i) == model[i]);
		weight += model[i];
	}
	CHECK(bitmap_weight(map, BITS) == weight);
	for (unsigned i = 0; i <= BITS; i++) {
		unsigned set = i, clear = i;
		while (set < BITS && !model[set])
			set++;
		while (clear < BITS && model[clear])
			clear++;
		CHECK(bitmap_next_set(map, i, BITS) == set);
		CHECK(bitmap_next_clear(map, i, BITS) == clear);
	}
}

TEST(next_stops_at_the_end)
{
	uint64_t map[2] = { 0, ~0ull };

	/* Bits past `bits` in the last word are never reported. */
	CHECK(bitmap_next_set(map, 0, 70) == 64);
	CHECK(bitmap_next_set(map, 0, 64) == 64);
	CHECK(bitmap_next_clear(map, 64, 128) == 128);
	CHECK(bitmap_words(0) == 0 && bitmap_words(1) == 1 && bitmap_words(64) == 1 && bitmap_words(65) == 2);
}

TEST(or_counts_only_new_bits)
{
	uint64_t dst[2] = { 0x0f, 0 }, src[2] = { 0xff, 1ull << 63 };

	CHECK(bitmap_or_count_new(dst, src, 2) == 5);
	CHECK(dst[0] == 0xff && dst[1] == 1ull << 63);
	CHECK(bitmap_or_count_new(dst, src, 2) == 0);
	CHECK(bitmap_word_weight(~0ull) == 64 && bitmap_word_weight(0) == 0);
}

int main(void)
{
	return run_tests();
}
