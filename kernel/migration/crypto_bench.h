/*
 * The migration channel's primitives timed on this CPU, beside memcpy of the same
 * bytes in the same run (the `cryptobench` command; `make bench-crypto` is the host's
 * counterpart). Each case walks a buffer in 16 KiB pieces (TLS's largest record) into
 * one output piece: memcpy, ChaCha20-Poly1305 (the channel's cipher), AES-128-GCM in
 * mbedTLS's table code, HMAC-SHA1 (the NULL suites' MAC) and Poly1305 (the inner
 * protocol's tags). All in general registers, as the image is built.
 *
 * Portable (image and host).
 */
#ifndef FERRY_MIGRATION_CRYPTO_BENCH_H
#define FERRY_MIGRATION_CRYPTO_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_BENCH_PIECE 16384
#define CRYPTO_BENCH_CASES 5

struct crypto_bench_row {
	const char *name;
	uint64_t bytes;
	uint64_t ns;
};

/*
 * Runs every case over `total` bytes, taken from buf (buf_len bytes, a multiple of
 * CRYPTO_BENCH_PIECE, reused round and round); now_ns is the clock. Fills rows
 * (CRYPTO_BENCH_CASES of them, memcpy first).
 */
void crypto_bench_run(const uint8_t *buf, size_t buf_len, uint64_t total, uint64_t (*now_ns)(void),
		      struct crypto_bench_row rows[CRYPTO_BENCH_CASES]);

#endif
