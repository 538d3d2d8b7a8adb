/*
 * The image's mbedTLS heap (mbedtls_platform.c): every channel's TLS state, record
 * buffers and handshake temporaries, and the host's parsed certificates, come from
 * one region of frames (owner "tls"), so that what peers can make TLS hold is
 * bounded by it. About 75 KiB a channel at its peak (an ECDHE handshake, test_migration_tls measures it); 2 MiB
 * serves the migration service's connections with room to spare. Image only.
 */
#ifndef FERRY_MIGRATION_MBEDTLS_PLATFORM_H
#define FERRY_MIGRATION_MBEDTLS_PLATFORM_H

#define MIG_TLS_HEAP_BYTES (2u * 1024 * 1024)

/* Takes the frames and hands them to mbedTLS's allocator; FERR_NOMEM when they are not there. */
int mig_tls_heap_init(void);

#endif
