/*
 * Authentication of migration peers and of every message after the handshake.
 *
 * HMAC-SHA256 (RFC 2104) built on mbedTLS's SHA-256. From the pre-shared key (PSK,
 * ferry.cfg's migration_key) and both HELLO nonces each side derives
 *
 *   session = HMAC(PSK, "ferry-migration-v1 session" || nonce_source || nonce_dest)
 *   key_s2d = HMAC(session, "source->dest"),  key_d2s = HMAC(session, "dest->source")
 *
 * A side proves it holds the PSK with its AUTH response
 *   HMAC(key_its_direction, "auth" || peer's nonce || own nonce).
 * Each message from AUTH on carries a Poly1305 tag (RFC 8439) over header || payload
 * under a one-time key: the first 32 bytes of ChaCha20(key_its_direction, nonce =
 * 4 zero bytes || the message's u64 sequence number, counter 0), as in RFC 8439's
 * AEAD construction but without encrypting. Sequence numbers never repeat within a
 * direction and keys are fresh per session, so no one-time key is used twice. The
 * header carries the sequence number, so a replayed, reordered, dropped or altered
 * message (or one from another session) fails. Direction keys differ, so a side's
 * own messages reflected back fail too.
 *
 * Portable (image and host).
 */
#ifndef FERRY_MIGRATION_AUTH_H
#define FERRY_MIGRATION_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/poly1305.h"
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
	uint8_t send_key[32], recv_key[32];      /* ChaCha20 keys of the message tags */
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

/* Tag of an outgoing message: msg is the header (with its sequence number) then the payload. */
void mig_session_tag(const struct mig_session *s, const uint8_t *msg, size_t len,
		     uint8_t tag[MIG_TAG_BYTES]);
/*
 * A peer's tag, checked as its message arrives: started from the header (the one-time
 * key comes from its sequence number), fed the payload in any split, compared at the
 * end. So the receiver's Poly1305 work goes with each piece of a message as it comes
 * (a TLS record at a time), not all at once when a 128 KiB batch is complete.
 */
struct mig_tag_check {
	mbedtls_poly1305_context poly;
};
void mig_tag_check_start(struct mig_tag_check *c, const struct mig_session *s,
			 const uint8_t header[MIG_HEADER_BYTES]);
void mig_tag_check_update(struct mig_tag_check *c, const void *data, size_t len);
/* True when tag is the peer's valid tag over everything fed; wipes the check's state. */
bool mig_tag_check_finish(struct mig_tag_check *c, const uint8_t tag[MIG_TAG_BYTES]);

#endif
