/*
 * HMAC-SHA256 over mbedTLS's SHA-256, session key derivation and AUTH responses
 * (auth.h). mbedTLS's generic md.c HMAC is not used because it
 * allocates its contexts on a heap the image does not have.
 */
#include "kernel/migration/auth.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "mbedtls/platform_util.h"

#define HMAC_INNER_PAD 0x36
#define HMAC_OUTER_PAD 0x5c

static const char session_label[] = "ferry-migration-v1 session";
static const char s2d_label[] = "source->dest";
static const char d2s_label[] = "dest->source";
static const char auth_label[] = "auth";

void mig_hmac_key_init(struct mig_hmac_key *k, const uint8_t *key, size_t len)
{
	uint8_t block[MIG_HMAC_BLOCK], pad[MIG_HMAC_BLOCK];

	memset(block, 0, sizeof(block));
	if (len > MIG_HMAC_BLOCK) {
		/* RFC 2104: a key longer than the block is replaced by its hash. */
		mbedtls_sha256_ret(key, len, block, 0);
	} else {
		memcpy(block, key, len);
	}
	for (unsigned i = 0; i < MIG_HMAC_BLOCK; i++)
		pad[i] = block[i] ^ HMAC_INNER_PAD;
	mbedtls_sha256_init(&k->inner);
	mbedtls_sha256_starts_ret(&k->inner, 0);
	mbedtls_sha256_update_ret(&k->inner, pad, sizeof(pad));
	for (unsigned i = 0; i < MIG_HMAC_BLOCK; i++)
		pad[i] = block[i] ^ HMAC_OUTER_PAD;
	mbedtls_sha256_init(&k->outer);
	mbedtls_sha256_starts_ret(&k->outer, 0);
	mbedtls_sha256_update_ret(&k->outer, pad, sizeof(pad));
	mbedtls_platform_zeroize(block, sizeof(block));
	mbedtls_platform_zeroize(pad, sizeof(pad));
}

void mig_hmac_key_wipe(struct mig_hmac_key *k)
{
	mbedtls_sha256_free(&k->inner);
	mbedtls_sha256_free(&k->outer);
}

void mig_hmac_start(struct mig_hmac *h, const struct mig_hmac_key *k)
{
	mbedtls_sha256_clone(&h->sha, &k->inner);
	h->key = k;
}

void mig_hmac_update(struct mig_hmac *h, const void *data, size_t len)
{
	mbedtls_sha256_update_ret(&h->sha, data, len);
}

void mig_hmac_finish(struct mig_hmac *h, uint8_t out[MIG_HMAC_BYTES])
{
	uint8_t inner[MIG_HMAC_BYTES];

	mbedtls_sha256_finish_ret(&h->sha, inner);
	mbedtls_sha256_clone(&h->sha, &h->key->outer);
	mbedtls_sha256_update_ret(&h->sha, inner, sizeof(inner));
	mbedtls_sha256_finish_ret(&h->sha, out);
	mbedtls_sha256_free(&h->sha);
	mbedtls_platform_zeroize(inner, sizeof(inner));
}

void mig_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
		     uint8_t out[MIG_HMAC_BYTES])
{
	struct mig_hmac_key k;
	struct mig_hmac h;

	mig_hmac_key_init(&k, key, key_len);
	mig_hmac_start(&h, &k);
	mig_hmac_update(&h, data, len);
	mig_hmac_finish(&h, out);
	mig_hmac_key_wipe(&k);
}

bool mig_equal_ct(const uint8_t *a, const uint8_t *b, size_t len)
{
	volatile uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

int mig_session_derive(struct mig_session *s, enum mig_role role, const uint8_t *psk,
		       size_t psk_len, const uint8_t own_nonce[MIG_NONCE_BYTES],
		       const uint8_t peer_nonce[MIG_NONCE_BYTES])
{
	const uint8_t *nonce_src = role == MIG_ROLE_SOURCE ? own_nonce : peer_nonce;
	const uint8_t *nonce_dst = role == MIG_ROLE_SOURCE ? peer_nonce : own_nonce;
	uint8_t session[MIG_HMAC_BYTES], s2d[MIG_HMAC_BYTES], d2s[MIG_HMAC_BYTES];
	struct mig_hmac_key k;
	struct mig_hmac h;

	memset(s, 0, sizeof(*s));
	if (psk_len == 0)
		return FERR_AUTH;
	mig_hmac_key_init(&k, psk, psk_len);
	mig_hmac_start(&h, &k);
	mig_hmac_update(&h, session_label, sizeof(session_label) - 1);
	mig_hmac_update(&h, nonce_src, MIG_NONCE_BYTES);
	mig_hmac_update(&h, nonce_dst, MIG_NONCE_BYTES);
	mig_hmac_finish(&h, session);
	mig_hmac_key_wipe(&k);

	mig_hmac_sha256(session, sizeof(session), s2d_label, sizeof(s2d_label) - 1, s2d);
	mig_hmac_sha256(session, sizeof(session), d2s_label, sizeof(d2s_label) - 1, d2s);
	mig_hmac_key_init(&s->send, role == MIG_ROLE_SOURCE ? s2d : d2s, MIG_HMAC_BYTES);
	mig_hmac_key_init(&s->recv, role == MIG_ROLE_SOURCE ? d2s : s2d, MIG_HMAC_BYTES);
	memcpy(s->own_nonce, own_nonce, MIG_NONCE_BYTES);
	memcpy(s->peer_nonce, peer_nonce, MIG_NONCE_BYTES);
	mbedtls_platform_zeroize(session, sizeof(session));
	mbedtls_platform_zeroize(s2d, sizeof(s2d));
	mbedtls_platform_zeroize(d2s, sizeof(d2s));
	s->ready = true;
	return 0;
}

void mig_session_wipe(struct mig_session *s)
{
	if (s->ready) {
		mig_hmac_key_wipe(&s->send);
		mig_hmac_key_wipe(&s->recv);
	}
	mbedtls_platform_zeroize(s, sizeof(*s));
}

static void auth_response(const struct mig_hmac_key *k, const uint8_t *challenge,
			  const uint8_t *responder_nonce, uint8_t out[MIG_AUTH_BYTES])
{
	struct mig_hmac h;

	mig_hmac_start(&h, k);
	mig_hmac_update(&h, auth_label, sizeof(auth_label) - 1);
	mig_hmac_update(&h, challenge, MIG_NONCE_BYTES);
	mig_hmac_update(&h, responder_nonce, MIG_NONCE_BYTES);
	mig_hmac_finish(&h, out);
}

void mig_session_auth_response(const struct mig_session *s, uint8_t out[MIG_AUTH_BYTES])
{
	auth_response(&s->send, s->peer_nonce, s->own_nonce, out);
}

bool mig_session_auth_check(const struct mig_session *s, const uint8_t response[MIG_AUTH_BYTES])
{
	uint8_t expected[MIG_AUTH_BYTES];
	bool ok;

	auth_response(&s->recv, s->own_nonce, s->peer_nonce, expected);
	ok = mig_equal_ct(expected, response, MIG_AUTH_BYTES);
	mbedtls_platform_zeroize(expected, sizeof(expected));
	return ok;
}
