/*
 * `make bench-crypto`: the migration channel's encryption throughput on this host,
 * beside memcpy of the same bytes in the same run. Every case walks the same 64 MiB
 * of "guest RAM" in 16 KiB pieces (TLS's largest record) into one output buffer, so
 * each moves the same bytes through memory and differs only in the work per byte:
 *
 * - memcpy: the floor, what a clear channel costs at least;
 * - the primitives of the suites mbedTLS 2.28 offers: ChaCha20-Poly1305 (the default
 *   suite), AES-128-GCM in mbedTLS's table code (what Ferry could run without SSE:
 *   the image is built with -mgeneral-regs-only), HMAC-SHA1 (the NULL suites' MAC),
 *   Poly1305 alone (the AEAD's MAC; protocol 3's per-message tags, dropped in 4);
 * - the channel itself (kernel/migration/tls.c): a source and a destination channel
 *   over an in-memory pipe (tests/unit/tls_pipe.h), 64 MiB of plaintext written at
 *   one end and read at the other, with the ChaCha20-Poly1305 and the NULL ECDHE-PSK
 *   suites: both ends' work on one core, records, MACs and buffers included.
 *
 * Built a second time with FERRY_BENCH_AESNI (bench_crypto_aesni): mbedTLS's AES-NI
 * and PCLMULQDQ code, which the image does not use (docs/migration.md: the guest's
 * FPU state), to show what AES-GCM would gain with it. Prints MB/s and the ratio to
 * memcpy; no thresholds (absolute speed is noise here).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/lib/errors.h"
#include "kernel/migration/tls.h"
#include "mbedtls/chachapoly.h"
#include "mbedtls/gcm.h"
#include "mbedtls/md.h"
#include "mbedtls/poly1305.h"
#include "tests/unit/tls_pipe.h"

#define RAM_MIB 64
#define RAM_BYTES ((size_t)RAM_MIB << 20)
#define PIECE 16384
#define REPEAT 3
#define KEY "benchmark key 0123456789abcdef"
#define STEPS_MAX 100000

static uint8_t *ram;
static uint8_t out[PIECE + 64];
static uint8_t key[32], nonce[12], tag[32];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the cases: each processes ram[] piece by piece -------------------------------------- */

static void run_memcpy(void)
{
	for (size_t off = 0; off < RAM_BYTES; off += PIECE)
		memcpy(out, ram + off, PIECE);
}

static mbedtls_chachapoly_context chachapoly;
static mbedtls_gcm_context gcm;

static void run_chachapoly(void)
{
	for (size_t off = 0; off < RAM_BYTES; off += PIECE) {
		nonce[0]++;
		mbedtls_chachapoly_encrypt_and_tag(&chachapoly, PIECE, nonce, NULL, 0, ram + off, out, tag);
	}
}

static void run_gcm(void)
{
	for (size_t off = 0; off < RAM_BYTES; off += PIECE) {
		nonce[0]++;
		mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, PIECE, nonce, sizeof(nonce), NULL, 0,
					  ram + off, out, 16, tag);
	}
}

#ifndef FERRY_BENCH_AESNI
static void run_hmac(mbedtls_md_type_t type)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(type);

	for (size_t off = 0; off < RAM_BYTES; off += PIECE)
		mbedtls_md_hmac(md, key, sizeof(key), ram + off, PIECE, tag);
}

static void run_hmac_sha1(void) { run_hmac(MBEDTLS_MD_SHA1); }

static void run_poly1305(void)
{
	for (size_t off = 0; off < RAM_BYTES; off += PIECE)
		mbedtls_poly1305_mac(key, ram + off, PIECE, tag);
}

/* ---- the channel over a pipe ------------------------------------------------------------- */

struct channel_pair {
	struct mig_tls_config cfg;
	struct pipe pipe;
	struct mig_tls *src, *dst;
};

static struct channel_pair pair;
static uint8_t sink[PIECE];

static void channel_open(enum config_cipher cipher)
{
	struct mig_tls_settings s = { .psk = (const uint8_t *)KEY, .psk_len = strlen(KEY),
				      .cipher = cipher, .random = pipe_fixed_random };
	char why[MIG_TLS_WHY_MAX];
	int err;

	if (mig_tls_config_init(&pair.cfg, &s, why, sizeof(why))) {
		fprintf(stderr, "config: %s\n", why);
		exit(1);
	}
	pipe_init(&pair.pipe);
	pair.src = mig_tls_new(&pair.cfg, MIG_ROLE_SOURCE, &pipe_lower, &pair.pipe.a, &err);
	pair.dst = mig_tls_new(&pair.cfg, MIG_ROLE_DEST, &pipe_lower, &pair.pipe.b, &err);
	for (int i = 0; i < STEPS_MAX && !(mig_tls_open(pair.src) && mig_tls_open(pair.dst)); i++) {
		mig_tls_step(pair.src);
		mig_tls_step(pair.dst);
	}
	if (!mig_tls_open(pair.src) || !mig_tls_open(pair.dst)) {
		fprintf(stderr, "handshake: %s / %s\n", mig_tls_why(pair.src), mig_tls_why(pair.dst));
		exit(1);
	}
}

static void channel_close(void)
{
	mig_tls_free(pair.src, false);
	mig_tls_free(pair.dst, false);
	mig_tls_config_free(&pair.cfg);
}

/* Writes ram[] through the source channel and reads it all at the destination. */
static void run_channel(void)
{
	size_t sent = 0, received = 0;

	while (received < RAM_BYTES) {
		long n = 0;

		if (sent < RAM_BYTES) {
			n = mig_tls_write(pair.src, ram + sent, PIECE);
			if (n < 0) {
				fprintf(stderr, "write: %s\n", mig_tls_why(pair.src));
				exit(1);
			}
			sent += (size_t)n;
		}
		mig_tls_step(pair.src);
		long r;
		while ((r = mig_tls_read(pair.dst, sink, sizeof(sink))) > 0)
			received += (size_t)r;
		if (r < 0) {
			fprintf(stderr, "read: %s\n", mig_tls_why(pair.dst));
			exit(1);
		}
	}
}

static void run_channel_chachapoly(void)
{
	channel_open(CONFIG_CIPHER_CHACHA20_POLY1305);
	run_channel();
	channel_close();
}

static void run_channel_null(void)
{
	channel_open(CONFIG_CIPHER_NONE);
	run_channel();
	channel_close();
}
#endif

/* ---- the table --------------------------------------------------------------------------- */

struct bench_case {
	const char *name;
	void (*run)(void);
};

static const struct bench_case cases[] = {
	{ "memcpy", run_memcpy },
	{ "ChaCha20-Poly1305 encrypt", run_chachapoly },
#ifdef FERRY_BENCH_AESNI
	{ "AES-128-GCM encrypt, AES-NI + PCLMULQDQ (not in the image)", run_gcm },
#else
	{ "AES-128-GCM encrypt, tables (no AES-NI)", run_gcm },
	{ "HMAC-SHA1 (NULL suite's MAC)", run_hmac_sha1 },
	{ "Poly1305 alone (the AEAD's MAC)", run_poly1305 },
	{ "channel, ECDHE-PSK-CHACHA20-POLY1305", run_channel_chachapoly },
	{ "channel, ECDHE-PSK-NULL-SHA (none)", run_channel_null },
#endif
};

#define CASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
	double best[CASES];

	ram = malloc(RAM_BYTES);
	if (!ram)
		return 1;
	for (size_t i = 0; i < RAM_BYTES; i++)
		ram[i] = (uint8_t)(i * 131 + (i >> 12));
	memset(key, 0x5a, sizeof(key));
	mbedtls_chachapoly_init(&chachapoly);
	mbedtls_chachapoly_setkey(&chachapoly, key);
	mbedtls_gcm_init(&gcm);
	mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 128);

	/* Rounds interleave the cases, so a busy moment of the machine hits them alike. */
	for (size_t c = 0; c < CASES; c++)
		best[c] = 1e9;
	for (int r = 0; r < REPEAT; r++)
		for (size_t c = 0; c < CASES; c++) {
			double t0 = now_s();
			cases[c].run();
			double t = now_s() - t0;
			if (t < best[c])
				best[c] = t;
		}

	printf("%d MiB in %d-byte pieces, best of %d%s\n", RAM_MIB, PIECE, REPEAT,
#ifdef FERRY_BENCH_AESNI
	       ", mbedTLS built with MBEDTLS_AESNI_C"
#else
	       ", mbedTLS built as in the image"
#endif
	);
	printf("%-58s %10s %12s\n", "CASE", "MB/s", "VS_MEMCPY");
	for (size_t c = 0; c < CASES; c++) {
		double mbps = (double)RAM_BYTES / best[c] / 1e6;
		printf("%-58s %10.1f %11.3fx\n", cases[c].name, mbps, best[0] / best[c]);
	}
	mbedtls_chachapoly_free(&chachapoly);
	mbedtls_gcm_free(&gcm);
	free(ram);
	return 0;
}
