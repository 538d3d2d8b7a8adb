/*
 * Authentication of migration peers: the inner handshake's AUTH.
 *
 * HMAC-SHA256 (RFC 2104) built on mbedTLS's SHA-256. From the pre-shared key (PSK,
 * ferry.cfg's migration_key) and both HELLO nonces each side derives
 *
 *   session = HMAC(PSK, "ferry-migration-v1 session" || nonce_source || nonce_dest)
 *   key_s2d = HMAC(session, "source->dest"),  key_d2s = HMAC(session, "dest->source")
 *
 * A side proves it holds the PSK with its AUTH response
 *   HMAC(key_its_direction, "auth" || peer's nonce || own nonce).
 * Inside the migration channel's TLS the PSK is the key both ends export from their
 * TLS session (tls.h), so AUTH binds the inner protocol to that session. The messages
 * themselves carry no tag: TLS's records authenticate them (protocol 4; until 3 each
 * also carried a Poly1305 tag under a key derived here).
 *
 * Portable (image and host).
 */
#ifndef FERRY_MIGRATION_AUTH_H
#define FERRY_MIGRATION_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/sha256.h"
#include "kernel/migration/wire.h"

#define MIG_HMAC_BYTES 32
#define MIG_HMAC_BLOCK 64

/* An HMAC-SHA256 key with its inner and outer pads already absorbed. */
struct mig_hmac_key {
	mbedtls_sha256_context inner, outer;
};

struct mig_hmac {
	mbedtls_sha256_context sha;
	const struct mig_hmac_key *key;
};

void mig_hmac_key_init(struct mig_hmac_key *k, const uint8_t *key, size_t len);
void mig_hmac_key_wipe(struct mig_hmac_key *k);
void mig_hmac_start(struct mig_hmac *h, const struct mig_hmac_key *k);
void mig_hmac_update(struct mig_hmac *h, const void *data, size_t len);
void mig_hmac_finish(struct mig_hmac *h, uint8_t out[MIG_HMAC_BYTES]);
/* One-shot HMAC-SHA256. */
void mig_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
		     uint8_t out[MIG_HMAC_BYTES]);

/* Compares in time independent of where the buffers differ. */
bool mig_equal_ct(const uint8_t *a, const uint8_t *b, size_t len);

/* The keys of one session, as seen by one side. */
struct mig_session {
	struct mig_hmac_key send, recv;          /* AUTH responses */
	uint8_t own_nonce[MIG_NONCE_BYTES], peer_nonce[MIG_NONCE_BYTES];
	bool ready;
};

/*
 * Derives the session keys (see above) for `role` from the PSK and both nonces.
 * FERR_AUTH when psk_len is 0 (no key configured).
 */
int mig_session_derive(struct mig_session *s, enum mig_role role, const uint8_t *psk,
		       size_t psk_len, const uint8_t own_nonce[MIG_NONCE_BYTES],
		       const uint8_t peer_nonce[MIG_NONCE_BYTES]);
void mig_session_wipe(struct mig_session *s);

/* This side's AUTH response. */
void mig_session_auth_response(const struct mig_session *s, uint8_t out[MIG_AUTH_BYTES]);
/* Checks the peer's AUTH response; true when it proves the same PSK. */
bool mig_session_auth_check(const struct mig_session *s, const uint8_t response[MIG_AUTH_BYTES]);

#endif
