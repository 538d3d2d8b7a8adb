/*
 * The migration engine's byte stream in the image (struct mig_transport_ops):
 * protocol v2's TLS channel (tls.h) over a TCP stream (net/tcp_stream.h). The
 * engine holds the TCP stream; its channel rides on it (tcp_stream_set_user), and
 * every op speaks through the channel: connected means the TLS handshake is done,
 * reads and writes are plaintext, errors come with the channel's words (`why`).
 * A background poller moves every channel's handshake and buffered output on, so
 * that a source waiting in its connecting phase still progresses.
 *
 * migrate_transport_init() builds the host's TLS config from ferry.cfg
 * (migration_key, migration_cert, migration_key_file, migration_ca,
 * migration_cipher) and the ESP's tls folder, and says in the log what the
 * channel will use. Image only.
 */
#ifndef FERRY_MIGRATION_TRANSPORT_H
#define FERRY_MIGRATION_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/migration/engine.h"
#include "kernel/migration/tls.h"

/* Channels at once (each on mbedTLS's heap while it lives). */
#define MIGRATE_CHANNELS_MAX 16

extern const struct mig_transport_ops migrate_tcp_ops;

/* The TLS config, the channel heap and the poller; once, at the service's start. */
void migrate_transport_init(void);

/* True when this host holds credentials (a key or certificates) to migrate with. */
bool migrate_transport_can_migrate(void);

/*
 * Puts a channel of `role` on a fresh stream (connecting or just accepted); from
 * then on the stream is used only through migrate_tcp_ops. The channel's inner key
 * (tls.h: mig_tls_inner_key, MIG_TLS_INNER_KEY_BYTES) is copied to key_out when its
 * handshake is done, before the engine can read a byte of the peer's: key_out is the
 * caller's, stable while the engine lives (the key of the protocol messages inside the
 * channel; a source in doubt reconnects with the same buffer). FERR_NOMEM (channel heap
 * full) or FERR_BUSY (MIGRATE_CHANNELS_MAX channels) leave the stream to the caller.
 */
int migrate_transport_attach(struct tcp_stream *s, enum mig_role role,
			     uint8_t key_out[MIG_TLS_INNER_KEY_BYTES]);

#endif
