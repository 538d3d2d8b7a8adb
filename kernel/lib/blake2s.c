/*
 * BLAKE2s as RFC 7693 specifies it (sections 2 and 3; the reference's parameter
 * block reduced to digest and key length, as in section 2.5): see blake2s.h.
 */
#include "kernel/lib/blake2s.h"
#include "kernel/lib/wipe.h"

#include <stdbool.h>
#include <string.h>

#define BLAKE2S_ROUNDS 10

/* RFC 7693 section 2.6: the SHA-256 initial values. */
static const uint32_t blake2s_iv[8] = {
	0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
	0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
};

/* RFC 7693 section 2.7: the message word permutations of the ten rounds. */
static const uint8_t blake2s_sigma[BLAKE2S_ROUNDS][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
};

/* Parameter block word 0 (RFC 7693 section 2.5): digest length, key length << 8, fanout and depth 1. */
#define PARAM_FANOUT_DEPTH 0x01010000u
#define PARAM_KEY_SHIFT 8
/* The finalization flag word (section 3.2: f0 = all ones for the last block). */
#define LAST_BLOCK_FLAG 0xFFFFFFFFu

static uint32_t rotr32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t load32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The mixing function G (section 3.1) with BLAKE2s' rotations 16, 12, 8, 7. */
#define G(v, a, b, c, d, x, y)                          \
	do {                                            \
		v[a] = v[a] + v[b] + (x);               \
		v[d] = rotr32(v[d] ^ v[a], 16);         \
		v[c] = v[c] + v[d];                     \
		v[b] = rotr32(v[b] ^ v[c], 12);         \
		v[a] = v[a] + v[b] + (y);               \
		v[d] = rotr32(v[d] ^ v[a], 8);          \
		v[c] = v[c] + v[d];                     \
		v[b] = rotr32(v[b] ^ v[c], 7);          \
	} while (0)

/* The compression function F (section 3.2). */
static void compress(struct blake2s *s, const uint8_t block[BLAKE2S_BLOCK_BYTES], bool last)
{
	uint32_t m[16], v[16];

	for (unsigned i = 0; i < 16; i++)
		m[i] = load32_le(block + 4 * i);
	for (unsigned i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	if (last)
		v[14] ^= LAST_BLOCK_FLAG;
	for (unsigned r = 0; r < BLAKE2S_ROUNDS; r++) {
		const uint8_t *p = blake2s_sigma[r];
		G(v, 0, 4, 8, 12, m[p[0]], m[p[1]]);
		G(v, 1, 5, 9, 13, m[p[2]], m[p[3]]);
		G(v, 2, 6, 10, 14, m[p[4]], m[p[5]]);
		G(v, 3, 7, 11, 15, m[p[6]], m[p[7]]);
		G(v, 0, 5, 10, 15, m[p[8]], m[p[9]]);
		G(v, 1, 6, 11, 12, m[p[10]], m[p[11]]);
		G(v, 2, 7, 8, 13, m[p[12]], m[p[13]]);
		G(v, 3, 4, 9, 14, m[p[14]], m[p[15]]);
	}
	for (unsigned i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	secure_wipe(m, sizeof(m));
	secure_wipe(v, sizeof(v));
}

/* Adds n bytes to the 64-bit byte counter t. */
static void count_bytes(struct blake2s *s, uint32_t n)
{
	s->t[0] += n;
	if (s->t[0] < n)
		s->t[1]++;
}

void blake2s_init(struct blake2s *s, size_t out_len, const void *key, size_t key_len)
{
	if (out_len == 0)
		out_len = 1;
	if (out_len > BLAKE2S_OUT_BYTES)
		out_len = BLAKE2S_OUT_BYTES;
	if (key_len > BLAKE2S_KEY_BYTES)
		key_len = BLAKE2S_KEY_BYTES;
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= PARAM_FANOUT_DEPTH | (uint32_t)key_len << PARAM_KEY_SHIFT | (uint32_t)out_len;
	s->t[0] = s->t[1] = 0;
	s->buf_len = 0;
	s->out_len = out_len;
	memset(s->buf, 0, sizeof(s->buf));
	if (key_len) {
		/* Section 3.3: a key is the first block, padded with zeros. */
		memcpy(s->buf, key, key_len);
		s->buf_len = BLAKE2S_BLOCK_BYTES;
	}
}

void blake2s_update(struct blake2s *s, const void *data, size_t len)
{
	const uint8_t *in = data;

	while (len) {
		/* The last block is compressed only in final, flagged: keep a full one buffered. */
		if (s->buf_len == BLAKE2S_BLOCK_BYTES) {
			count_bytes(s, BLAKE2S_BLOCK_BYTES);
			compress(s, s->buf, false);
			s->buf_len = 0;
		}
		size_t n = BLAKE2S_BLOCK_BYTES - s->buf_len;
		if (n > len)
			n = len;
		memcpy(s->buf + s->buf_len, in, n);
		s->buf_len += n;
		in += n;
		len -= n;
	}
}

void blake2s_final(struct blake2s *s, uint8_t *out)
{
	uint8_t digest[BLAKE2S_OUT_BYTES];

	count_bytes(s, (uint32_t)s->buf_len);
	memset(s->buf + s->buf_len, 0, BLAKE2S_BLOCK_BYTES - s->buf_len);
	compress(s, s->buf, true);
	for (unsigned i = 0; i < 8; i++) {
		digest[4 * i] = (uint8_t)s->h[i];
		digest[4 * i + 1] = (uint8_t)(s->h[i] >> 8);
		digest[4 * i + 2] = (uint8_t)(s->h[i] >> 16);
		digest[4 * i + 3] = (uint8_t)(s->h[i] >> 24);
	}
	memcpy(out, digest, s->out_len);
	secure_wipe(digest, sizeof(digest));
	secure_wipe(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t out_len, const void *key, size_t key_len,
	     const void *data, size_t len)
{
	struct blake2s s;

	blake2s_init(&s, out_len, key, key_len);
	blake2s_update(&s, data, len);
	blake2s_final(&s, out);
}
