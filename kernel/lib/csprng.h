/*
 * A fast cryptographic random generator for bulk and frequent needs (lwIP's
 * random numbers, ephemeral ports, the TCP ISN secret): BLAKE2s (blake2s.h) as a
 * PRF in counter mode under a 256-bit key, with fast key erasure: every request
 * ends by replacing the key with a PRF output never handed out, so a state read
 * later reveals nothing of what was produced before. Seeds come from the entropy
 * source (arch/x86/entropy.h); csprng_needs_seed() says when the caller should
 * mix in a fresh one.
 *
 * Portable (image and host); no allocation; not reentrant (one caller at a time).
 */
#ifndef FERRY_LIB_CSPRNG_H
#define FERRY_LIB_CSPRNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSPRNG_KEY_BYTES 32
/* Output after which csprng_needs_seed() asks for a fresh seed. */
#define CSPRNG_RESEED_BYTES (1u << 20)

struct csprng {
	uint8_t key[CSPRNG_KEY_BYTES];
	uint64_t counter;
	uint64_t since_seed;        /* bytes produced since the last seed */
	bool seeded;
};

/* Mixes seed into the key: key = BLAKE2s(key: seed; old key). */
void csprng_seed(struct csprng *g, const uint8_t seed[CSPRNG_KEY_BYTES]);
/* True before the first seed and once CSPRNG_RESEED_BYTES were produced since the last. */
bool csprng_needs_seed(const struct csprng *g);
/* len bytes of output (from an unseeded generator: predictable, so seed first). */
void csprng_fill(struct csprng *g, void *out, size_t len);

#endif
