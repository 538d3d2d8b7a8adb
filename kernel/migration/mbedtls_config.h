/*
 * mbedTLS configuration for Ferry's migration channel (MBEDTLS_CONFIG_FILE): TLS 1.2
 * only, client and server, and only what the channel's cipher suites need
 * (kernel/migration/tls_suites.c lists them; docs/migration.md says why these):
 *
 *   ECDHE-PSK with ChaCha20-Poly1305          (the default: migration_key as the PSK)
 *   ECDHE-ECDSA / ECDHE-RSA with ChaCha20-Poly1305   (per-host certificates and a CA)
 *   the same key exchanges with the NULL cipher and HMAC-SHA1 (migration_cipher = none)
 *
 * Curves X25519, P-256 and P-384; X.509 certificates and keys in PEM or DER; SHA-256
 * and SHA-384 for handshakes and signatures; HMAC_DRBG as the random generator
 * (seeded from arch/x86/entropy.h through the engine's env). AES and GCM are built
 * for the cipher benchmark only (kernel/migration/cipher_bench.c): no suite uses
 * them. Everything runs in general-purpose registers: no AES-NI, no SSE (the image
 * is built with -mgeneral-regs-only and the CPU may hold a guest's FPU state).
 *
 * In the image: no standard library (the platform layer's snprintf is Ferry's
 * formatter, its calloc/free mbedTLS's buffer allocator over frames the channel
 * module takes at init), no time (certificate validity dates are not checked:
 * Ferry has no trusted wall clock; docs/migration.md), no threads, no files, no
 * self tests. Host builds (unit tests, fuzzers, benchmarks) use the C library's
 * calloc, which a test may replace to count allocations.
 */
#ifndef FERRY_MIGRATION_MBEDTLS_CONFIG_H
#define FERRY_MIGRATION_MBEDTLS_CONFIG_H

#include <stddef.h>

/* ---- system and platform ------------------------------------------------------------ */
#define MBEDTLS_HAVE_ASM                 /* bignum multiply-accumulate in inline asm (general registers) */
#define MBEDTLS_NO_UDBL_DIVISION         /* no 128-bit division: libgcc is not linked */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#ifdef FERRY_IMAGE
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* kernel/migration/mbedtls_platform.c */
int ferry_mbedtls_snprintf(char *s, size_t n, const char *fmt, ...);
__attribute__((noreturn)) void ferry_mbedtls_exit(int status);
#define MBEDTLS_PLATFORM_SNPRINTF_MACRO ferry_mbedtls_snprintf
#define MBEDTLS_PLATFORM_EXIT_MACRO ferry_mbedtls_exit
#endif

/* ---- TLS 1.2 ----------------------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES          /* a peer that fails says why (a wrong key: bad_record_mac) */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET      /* RFC 7627: the master secret covers the handshake */
#define MBEDTLS_SSL_EXPORT_KEYS                 /* the inner protocol's key (tls.h) */
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE       /* the peer's subject, for the log */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_CIPHER_NULL_CIPHER              /* migration_cipher = none */
#define MBEDTLS_ENABLE_WEAK_CIPHERSUITES        /* ... whose suites mbedTLS files as "weak" */

/* ---- ciphers and hashes --------------------------------------------------------------- */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_AES_C
#define MBEDTLS_GCM_C
#if defined(FERRY_HOST) && defined(FERRY_BENCH_AESNI)
#define MBEDTLS_AESNI_C      /* bench_crypto_aesni only (make bench-crypto): the image uses no SSE registers */
#endif
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C                          /* HMAC-SHA1 of the NULL suites; never for signatures */
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA512_C                        /* SHA-384 */
#define MBEDTLS_HMAC_DRBG_C

/* ---- public keys and certificates ------------------------------------------------------- */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0         /* each handshake loads its group afresh: no reuse */
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC             /* RFC 6979: signatures never depend on the RNG */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_GENPRIME                        /* RSA key checks */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

#include "mbedtls/check_config.h"

#endif
