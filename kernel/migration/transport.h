/*
 * The migration engine's byte stream (struct mig_transport_ops) over
 * net/tcp_stream.h. `conn` is a struct tcp_stream *. A peer that stops reading is
 * the engine's to detect (its reply timeout); this layer only forwards errors.
 */
#ifndef FERRY_NET_MIGRATE_TRANSPORT_H
#define FERRY_NET_MIGRATE_TRANSPORT_H

#include "kernel/migration/engine.h"

extern const struct mig_transport_ops migrate_tcp_ops;

#endif
