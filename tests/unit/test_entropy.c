/*
 * Host tests of the cryptographic helpers below the migration floor: BLAKE2s
 * against RFC 7693 and the reference's keyed vectors (checked with Python's
 * hashlib), the fast generator (csprng.h: its construction, key erasure and
 * reseed rule), and the entropy health tests (entropy_health.h: stuck hardware
 * words, timing jitter that stops changing, and a pool that needs enough samples).
 */
#include "check.h"
#include "kernel/lib/blake2s.h"
#include "kernel/lib/csprng.h"
#include "kernel/lib/entropy_health.h"

#include <stdint.h>

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

static void digest_hex(char *out, size_t out_len, const void *key, size_t key_len,
		       const void *data, size_t len)
{
	uint8_t d[BLAKE2S_OUT_BYTES];

	blake2s(d, out_len, key, key_len, data, len);
	hex(d, out_len, out);
}

TEST(blake2s_rfc7693_abc)
{
	char h[65];

	digest_hex(h, 32, NULL, 0, "abc", 3);
	CHECK_STR(h, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

TEST(blake2s_keyed_vectors)
{
	uint8_t key[32], data[255];
	char h[65];

	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	digest_hex(h, 32, key, 32, data, 0);
	CHECK_STR(h, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
	digest_hex(h, 32, key, 32, data, 255);
	CHECK_STR(h, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd");
	/* Shorter digests and keys change the parameter block, not just the output's length. */
	digest_hex(h, 16, NULL, 0, data, 64);
	CHECK_STR(h, "dc66ca8f03865801b0ffe06ed8a1a90e");
	digest_hex(h, 20, "kkkkk", 5, data, 65);
	CHECK_STR(h, "3ade0bb581b8ebd0b29730cd870833557f419f35");
}

TEST(blake2s_split_updates_match_one_call)
{
	uint8_t data[300], one[32], parts[32];
	struct blake2s s;

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	blake2s(one, 32, "key", 3, data, sizeof(data));
	for (size_t step = 1; step <= 129; step += 32) {
		blake2s_init(&s, 32, "key", 3);
		for (size_t at = 0; at < sizeof(data); at += step)
			blake2s_update(&s, data + at, at + step > sizeof(data) ? sizeof(data) - at : step);
		blake2s_final(&s, parts);
		CHECK(memcmp(one, parts, 32) == 0);
	}
}

TEST(csprng_construction)
{
	struct csprng g = { 0 };
	uint8_t seed[32], out[40], next[16];
	char h[81];

	CHECK(csprng_needs_seed(&g));
	for (unsigned i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)i;
	csprng_seed(&g, seed);
	CHECK(!csprng_needs_seed(&g));
	csprng_fill(&g, out, sizeof(out));
	hex(out, sizeof(out), h);
	/* key = BLAKE2s(key: seed; 32 zero bytes); blocks BLAKE2s(key; counter LE64), 0 and 1. */
	CHECK_STR(h, "11d73ff70d0ad736429deb16efe61fcac91cd2e30ebe291d96a6d091192a41a5a635165b6f7638b7");
	/* Block 2 became the key (fast key erasure): the next output is block 3 under it. */
	csprng_fill(&g, next, sizeof(next));
	hex(next, sizeof(next), h);
	CHECK_STR(h, "86b75c76bcdb8b3eb820fcbaae2626e8");
}

TEST(csprng_asks_for_a_seed_after_its_budget)
{
	static uint8_t big[64 * 1024];
	struct csprng g = { 0 };
	uint8_t seed[32] = { 1 };

	csprng_seed(&g, seed);
	for (unsigned i = 0; i < CSPRNG_RESEED_BYTES / sizeof(big); i++) {
		CHECK(!csprng_needs_seed(&g));
		csprng_fill(&g, big, sizeof(big));
	}
	CHECK(csprng_needs_seed(&g));
	csprng_seed(&g, seed);
	CHECK(!csprng_needs_seed(&g));
}

TEST(stuck_hardware_words_fail)
{
	struct entropy_word_check c = { 0 };

	CHECK(entropy_word_check(&c, 0x0123456789abcdefull) == NULL);
	CHECK(entropy_word_check(&c, 0xfedcba9876543210ull) == NULL);
	CHECK_STR(entropy_word_check(&c, 0xfedcba9876543210ull), "returned the same word twice in a row");
	CHECK_STR(entropy_word_check(&c, ~0ull), "returned all ones");
	CHECK_STR(entropy_word_check(&c, 0), "returned all zeros");
	/* AMD's RDRAND after resume: all ones every time. */
	struct entropy_word_check fresh = { 0 };
	CHECK(entropy_word_check(&fresh, ~0ull) != NULL);
}

/* A deterministic stand-in for TSC readings with jitter. */
static uint64_t lcg_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 33;
}

TEST(jitter_pool_outputs_after_enough_changing_samples)
{
	struct jitter_pool p;
	uint64_t t = 1000, rng = 42;
	uint8_t a[32], b[32];

	jitter_pool_init(&p);
	unsigned n = 0;
	while (!jitter_pool_ready(&p)) {
		t += 100 + lcg_next(&rng) % 37;
		CHECK(jitter_pool_add(&p, t));
		n++;
	}
	/* Every sample that changed earned a credit; the first only primes, and repeats earn none. */
	CHECK(p.stuck_total >= 1);
	CHECK_EQ_U(n, JITTER_SAMPLES_PER_OUTPUT + p.stuck_total);
	jitter_pool_output(&p, a);
	CHECK(!jitter_pool_ready(&p));
	while (!jitter_pool_ready(&p)) {
		t += 100 + lcg_next(&rng) % 37;
		jitter_pool_add(&p, t);
	}
	jitter_pool_output(&p, b);
	CHECK(memcmp(a, b, 32) != 0);
}

TEST(jitter_pool_fails_on_a_regular_clock)
{
	struct jitter_pool p;
	uint64_t t = 5000;

	/* An emulator whose TSC follows the instruction count: every delta the same. */
	jitter_pool_init(&p);
	unsigned added = 0;
	while (jitter_pool_add(&p, t += 250))
		added++;
	CHECK(p.failed);
	CHECK(added < JITTER_RCT_CUTOFF + 3);
	CHECK(!jitter_pool_ready(&p));
	/* A linear ramp of deltas is stuck too (second difference constant). */
	jitter_pool_init(&p);
	uint64_t d = 10;
	for (unsigned i = 0; i < 100 && jitter_pool_add(&p, t += d++);)
		i++;
	CHECK(p.failed);
}

TEST(jitter_pool_credits_only_changing_samples)
{
	struct jitter_pool p;
	uint64_t t = 0, rng = 7;

	jitter_pool_init(&p);
	/* Every other sample repeats the time (delta 0): those earn nothing, and runs stay short. */
	for (unsigned i = 0; i < 2 * JITTER_SAMPLES_PER_OUTPUT - 2; i++) {
		uint64_t step = (i % 2) ? 300 + lcg_next(&rng) % 50 : 0;
		CHECK(jitter_pool_add(&p, t += step));
	}
	CHECK(!p.failed);
	CHECK(p.credited <= JITTER_SAMPLES_PER_OUTPUT - 1);
	CHECK(p.credited >= JITTER_SAMPLES_PER_OUTPUT - 8);
	CHECK(!jitter_pool_ready(&p));
}

int main(void)
{
	return run_tests();
}
