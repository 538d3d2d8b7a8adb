/* The channel's primitives timed beside memcpy; see crypto_bench.h. */
#include "kernel/migration/crypto_bench.h"

#include <string.h>

#include "mbedtls/chachapoly.h"
#include "mbedtls/gcm.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/poly1305.h"

#define KEY_BYTES 32
#define NONCE_BYTES 12
#define TAG_BYTES 20            /* HMAC-SHA1's, the longest tag here */
#define AES_KEY_BITS 128

enum bench_case { CASE_MEMCPY, CASE_CHACHAPOLY, CASE_GCM, CASE_HMAC_SHA1, CASE_POLY1305 };

static const char *const case_names[CRYPTO_BENCH_CASES] = {
	[CASE_MEMCPY] = "memcpy",
	[CASE_CHACHAPOLY] = "ChaCha20-Poly1305 encrypt",
	[CASE_GCM] = "AES-128-GCM encrypt (tables)",
	[CASE_HMAC_SHA1] = "HMAC-SHA1 (NULL suite's MAC)",
	[CASE_POLY1305] = "Poly1305 alone (AEAD MAC)",
};

struct bench_ctx {
	uint8_t key[KEY_BYTES], nonce[NONCE_BYTES], tag[TAG_BYTES];
	uint8_t out[CRYPTO_BENCH_PIECE];
	mbedtls_chachapoly_context chachapoly;
	mbedtls_gcm_context gcm;
	const mbedtls_md_info_t *sha1;
};

/* One piece through one case. */
static void piece(struct bench_ctx *c, enum bench_case which, const uint8_t *in)
{
	c->nonce[0]++;
	switch (which) {
	case CASE_MEMCPY:
		memcpy(c->out, in, CRYPTO_BENCH_PIECE);
		break;
	case CASE_CHACHAPOLY:
		mbedtls_chachapoly_encrypt_and_tag(&c->chachapoly, CRYPTO_BENCH_PIECE, c->nonce, NULL, 0, in,
						   c->out, c->tag);
		break;
	case CASE_GCM:
		mbedtls_gcm_crypt_and_tag(&c->gcm, MBEDTLS_GCM_ENCRYPT, CRYPTO_BENCH_PIECE, c->nonce,
					  NONCE_BYTES, NULL, 0, in, c->out, 16, c->tag);
		break;
	case CASE_HMAC_SHA1:
		mbedtls_md_hmac(c->sha1, c->key, sizeof(c->key), in, CRYPTO_BENCH_PIECE, c->tag);
		break;
	case CASE_POLY1305:
		mbedtls_poly1305_mac(c->key, in, CRYPTO_BENCH_PIECE, c->tag);
		break;
	}
}

/* The context is large (an output piece): one, static, for the one bench at a time. */
static struct bench_ctx ctx;

void crypto_bench_run(const uint8_t *buf, size_t buf_len, uint64_t total, uint64_t (*now_ns)(void),
		      struct crypto_bench_row rows[CRYPTO_BENCH_CASES])
{
	struct bench_ctx *c = &ctx;

	memset(c->key, 0x5a, sizeof(c->key));
	mbedtls_chachapoly_init(&c->chachapoly);
	mbedtls_chachapoly_setkey(&c->chachapoly, c->key);
	mbedtls_gcm_init(&c->gcm);
	mbedtls_gcm_setkey(&c->gcm, MBEDTLS_CIPHER_ID_AES, c->key, AES_KEY_BITS);
	c->sha1 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	for (unsigned k = 0; k < CRYPTO_BENCH_CASES; k++) {
		uint64_t done = 0;
		size_t off = 0;
		uint64_t start = now_ns();

		while (done < total) {
			piece(c, (enum bench_case)k, buf + off);
			done += CRYPTO_BENCH_PIECE;
			off = off + CRYPTO_BENCH_PIECE < buf_len ? off + CRYPTO_BENCH_PIECE : 0;
		}
		rows[k] = (struct crypto_bench_row){ case_names[k], done, now_ns() - start };
	}
	mbedtls_chachapoly_free(&c->chachapoly);
	mbedtls_gcm_free(&c->gcm);
	mbedtls_platform_zeroize(c, sizeof(*c));
}
