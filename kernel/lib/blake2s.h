/*
 * BLAKE2s (RFC 7693): a 256-bit hash for 32-bit machines, keyed (then a MAC and a
 * PRF, RFC 7693 section 2.9) or not. Ferry uses it where a layer below the
 * migration floor (which alone may use mbedTLS) needs a cryptographic hash: the
 * conditioning of raw entropy, the fast random generator (csprng.h) and the keyed
 * TCP initial sequence numbers of RFC 6528 (net/tcp_isn.c). Linux's random driver
 * conditions its input with BLAKE2s for the same reasons: small, fast in plain
 * integer code, no tables.
 *
 * Portable (image and host); no allocation; general-purpose registers only.
 */
#ifndef FERRY_LIB_BLAKE2S_H
#define FERRY_LIB_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

#define BLAKE2S_BLOCK_BYTES 64
#define BLAKE2S_OUT_BYTES 32    /* the largest digest, and Ferry's */
#define BLAKE2S_KEY_BYTES 32    /* the largest key */

struct blake2s {
	uint32_t h[8];                      /* chained state */
	uint32_t t[2];                      /* bytes compressed so far (low, high) */
	uint8_t buf[BLAKE2S_BLOCK_BYTES];   /* the block not compressed yet */
	size_t buf_len;
	size_t out_len;
};

/*
 * Starts a hash of out_len bytes (1..32) keyed with key_len bytes (0..32; 0: unkeyed).
 * Out-of-range lengths are clamped to the nearest valid one.
 */
void blake2s_init(struct blake2s *s, size_t out_len, const void *key, size_t key_len);
void blake2s_update(struct blake2s *s, const void *data, size_t len);
/* Writes out_len bytes and wipes the state. */
void blake2s_final(struct blake2s *s, uint8_t *out);

/* One call: out_len bytes of BLAKE2s(key; data). */
void blake2s(uint8_t *out, size_t out_len, const void *key, size_t key_len,
	     const void *data, size_t len);

#endif
