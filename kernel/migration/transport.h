/*
 * The migration engine's byte stream (struct mig_transport_ops) over
 * net/tcp_stream.h: the engine's seam has the stream's own signatures, so the table
 * points at its functions. A peer that stops reading is the engine's to detect (its
 * reply timeout); this layer only forwards errors. Image only.
 */
#ifndef FERRY_MIGRATION_TRANSPORT_H
#define FERRY_MIGRATION_TRANSPORT_H

#include "kernel/migration/engine.h"

extern const struct mig_transport_ops migrate_tcp_ops;

#endif
