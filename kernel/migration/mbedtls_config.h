/*
 * mbedTLS configuration for Ferry's migration stream (MBEDTLS_CONFIG_FILE).
 *
 * Only what kernel/migration/auth.c uses: SHA-256 (HMAC-SHA256 is built on it, since
 * md.c's generic HMAC needs a heap, mbedtls_calloc, which the freestanding image does
 * not offer), and ChaCha20 + Poly1305 for the per-message tags. No platform layer, no time, no threads, no self tests, no file system.
 */
#ifndef FERRY_MIGRATION_MBEDTLS_CONFIG_H
#define FERRY_MIGRATION_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C

#include "mbedtls/check_config.h"

#endif
