/*
 * The migration channel: protocol v2's TLS 1.2 (mbedTLS) over a byte stream, with
 * the clear-text version hello in front (preamble.h). The migration engine's
 * transport (transport.c in the image) reads and writes plaintext through it; the
 * stream under it is anything with the mig_tls_lower functions (a TCP stream in
 * the image, an in-memory pipe in the host tests).
 *
 * A channel goes: connecting (the lower stream not up yet) -> preamble (source:
 * its hello queued; destination: the hello read and checked, or refused with a
 * v1 ABORT frame) -> TLS handshake -> open (plaintext both ways) -> closed.
 * Every failure is sticky: mig_tls_error() gives the ferry_err, mig_tls_why() the
 * words (a wrong key, no cipher in common, a certificate the CA did not sign, an
 * older peer's refusal...). FERR_AUTH means the peer failed (or refused) the
 * authentication, FERR_NOTSUP a version or cipher it does not share, FERR_IO a
 * closed or broken stream, FERR_PROTO bytes that are neither.
 *
 * Output: mbedTLS encrypts one record at a time into the channel's own buffer
 * (two records deep), which drains into the lower stream as it takes bytes; a
 * write is only accepted when a whole record fits, so mbedTLS never sees a full
 * stream. mig_tls_step() moves the handshake and the buffered bytes on; reads and
 * writes do too.
 *
 * Once open, mig_tls_inner_key() gives 32 bytes both ends derive from the TLS
 * session, as RFC 5705's exporter does (label "EXPORTER-ferry-migration-inner-key"):
 * the key of the protocol messages inside the channel while they keep their v1
 * authentication (docs/migration.md: protocol v2).
 *
 * Portable (image and host). A channel lives on mbedTLS's heap (mig_tls_new).
 */
#ifndef FERRY_MIGRATION_TLS_H
#define FERRY_MIGRATION_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/migration/tls_config.h"
#include "kernel/migration/wire.h"

#define MIG_TLS_INNER_KEY_BYTES 32

/* The byte stream under the channel; ctx is the stream. */
struct mig_tls_lower {
	bool (*connected)(void *ctx);
	long (*write)(void *ctx, const void *buf, size_t len);   /* count queued (0: full) or ferry_err */
	long (*read)(void *ctx, void *buf, size_t len);          /* count (0: none yet) or ferry_err */
	size_t (*readable)(void *ctx);
	int (*error)(void *ctx);                                 /* 0 or the sticky ferry_err */
	/* True when the stream ended by the peer's close, not a reset or a timeout (NULL: assume so). */
	bool (*peer_closed)(void *ctx);
};

enum mig_tls_state {
	MIG_TLS_CONNECTING,
	MIG_TLS_PREAMBLE,       /* destination: reading the source's hello */
	MIG_TLS_REFUSED,        /* source: reading the destination's refusal frame */
	MIG_TLS_HANDSHAKE,
	MIG_TLS_OPEN,
	MIG_TLS_FAILED,
};

struct mig_tls;

/*
 * A channel of this role over `lower` (which must outlive it), with the host's
 * shared config; NULL with *err FERR_NOMEM when mbedTLS's heap has no room. A
 * config without credentials still makes a destination channel: it refuses its
 * source in the preamble ("no migration_key").
 */
struct mig_tls *mig_tls_new(const struct mig_tls_config *cfg, enum mig_role role,
			    const struct mig_tls_lower *lower, void *lower_ctx, int *err);
/*
 * Sends close_notify when open and graceful (into the output buffer: what the lower
 * stream takes before it closes goes out), then frees the channel. The lower
 * stream is the caller's to close.
 */
void mig_tls_free(struct mig_tls *t, bool graceful);

/* Moves the preamble, the handshake and buffered output on; 0 or the sticky error. */
int mig_tls_step(struct mig_tls *t);

enum mig_tls_state mig_tls_state(const struct mig_tls *t);
bool mig_tls_open(const struct mig_tls *t);

/* Plaintext in and out (the engine's transport). write: count taken (0: not now) or the error. */
long mig_tls_write(struct mig_tls *t, const void *buf, size_t len);
size_t mig_tls_writable(const struct mig_tls *t);
/* count (0: nothing yet) or the error (FERR_IO once the peer closed). */
long mig_tls_read(struct mig_tls *t, void *buf, size_t len);
/* Nonzero when a read may return bytes (decrypted bytes waiting, or ciphertext unread). */
size_t mig_tls_readable(const struct mig_tls *t);
/* Ciphertext waiting in the channel for the lower stream. */
size_t mig_tls_unsent(const struct mig_tls *t);

int mig_tls_error(const struct mig_tls *t);
const char *mig_tls_why(const struct mig_tls *t);

/* Valid once open. */
const uint8_t *mig_tls_inner_key(const struct mig_tls *t);
/* The negotiated suite's name ("TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256"), once open. */
const char *mig_tls_suite(const struct mig_tls *t);
/* Who the peer proved to be: its certificate's subject, or "migration_key" (PSK). */
const char *mig_tls_peer(const struct mig_tls *t);

#endif
