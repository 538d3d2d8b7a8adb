/*
 * mbedTLS configuration for Ferry's migration stream (MBEDTLS_CONFIG_FILE).
 *
 * Only SHA-256 is built (kernel/migration/auth.c builds HMAC-SHA256 on it): md.c's
 * generic HMAC needs a heap (mbedtls_calloc), which the freestanding image does not
 * offer. No platform layer, no time, no threads, no self tests, no file system.
 */
#ifndef FERRY_MIGRATION_MBEDTLS_CONFIG_H
#define FERRY_MIGRATION_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C

#include "mbedtls/check_config.h"

#endif
