/*
 * `make bench-migration`: throughput of the migration stream's CPU work on this host,
 * beside memcpy of the same bytes in the same run. Encode: pages into PAGES batches
 * with the stream checksum (the source's per-page work, before TLS encrypts it).
 * Decode: the destination's framing, checksum and copy into guest RAM.
 * Digest: verify=before's hash of all RAM at the pause (digest.h), by each hash the
 * source can choose, CRC-32C with and without the SSE4.2 instruction: its cost in
 * downtime per GiB on this CPU.
 * Prints MB/s and the ratio to memcpy; no thresholds (absolute speed is noise here).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/x86/crc32c.h"
#include "kernel/migration/digest.h"
#include "kernel/migration/proto.h"

#define KEY "benchmark key 0123456789"
#define RAM_MIB 64
#define PAGES ((RAM_MIB << 20) / MIG_PAGE_SIZE)
#define REPEAT 3

static struct mig_src src;
static struct mig_dst dst;
/* The page stream's buffers, the caller's (mig_src_offer, mig_dst_accept). */
static uint8_t src_stream[MIG_WRITER_CAPACITY], dst_stream[MIG_FRAME_MAX];

static bool always(void *ctx, uint64_t mib) { (void)ctx; (void)mib; return true; }
static bool name_free(void *ctx, const char *name) { (void)ctx; (void)name; return true; }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void src_to_dst(void)
{
	const uint8_t *p;
	struct mig_dst_event ev;
	size_t len, used;

	while ((len = mig_src_pending(&src, &p)) > 0) {
		if (mig_dst_input(&dst, p, len, &used, &ev) < 0 || used == 0)
			break;
		mig_src_consume(&src, used);
	}
	if (dst.state == MIG_DST_OFFERED)
		mig_dst_accept(&dst, dst_stream, sizeof(dst_stream));
}

static void dst_to_src(void)
{
	const uint8_t *p;
	struct mig_src_event ev;
	size_t len = mig_dst_pending(&dst, &p), used;

	mig_src_input(&src, p, len, &used, &ev);
	mig_dst_consume(&dst, len);
}

/* Best-of-REPEAT seconds to hash every page of ram by `hash`. */
static double time_digest(const uint8_t *ram, unsigned hash)
{
	double best = 1e9;
	volatile uint32_t sink = 0;

	for (int r = 0; r < REPEAT; r++) {
		double t0 = now_s();
		for (uint32_t p = 0; p < PAGES; p++)
			sink ^= mig_page_hash(hash, ram + (size_t)p * MIG_PAGE_SIZE);
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	(void)sink;
	return best;
}

static void print_digest(const char *name, double seconds, double t_memcpy, double mb)
{
	printf("%-34s %10.0f %10.3f %12.1f\n", name, mb / seconds, t_memcpy / seconds,
	       seconds * 1000.0 * (double)(1u << 30) / (double)((size_t)RAM_MIB << 20));
}

static void setup(void)
{
	static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1 }, nonce_b[MIG_NONCE_BYTES] = { 2 };
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	struct mig_offer o = { .migration_id = 1, .memory_mib = RAM_MIB, .page_size = MIG_PAGE_SIZE };

	strcpy(o.name, "bench");
	mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	src_to_dst();
	dst_to_src();
	src_to_dst();
	dst_to_src();
	mig_src_offer(&src, &o, src_stream, sizeof(src_stream));
	src_to_dst();
	dst_to_src();
	if (dst.state != MIG_DST_PRECOPY) {
		fprintf(stderr, "bench: handshake failed\n");
		exit(1);
	}
}

int main(void)
{
	size_t ram_bytes = (size_t)RAM_MIB << 20;
	uint8_t *ram = malloc(ram_bytes), *copy = malloc(ram_bytes), *dest = malloc(ram_bytes);
	size_t wire_cap = (size_t)PAGES * (MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE) * 2;
	uint8_t *wire = malloc(wire_cap);
	double t_memcpy = 1e9, t_enc = 1e9, t_dec = 1e9;
	size_t wire_len = 0;
	uint32_t seed = 1;

	for (size_t i = 0; i < ram_bytes; i += 4) {
		seed = seed * 1664525u + 1013904223u;
		memcpy(ram + i, &seed, 4);
	}
	for (int r = 0; r < REPEAT; r++) {
		double t0 = now_s();
		memcpy(copy, ram, ram_bytes);
		double t1 = now_s();
		if (t1 - t0 < t_memcpy)
			t_memcpy = t1 - t0;

		setup();
		wire_len = 0;
		t0 = now_s();
		for (uint32_t p = 0; p < PAGES; p++) {
			const uint8_t *out;
			size_t n;
			if (mig_src_page(&src, p, ram + (size_t)p * MIG_PAGE_SIZE) != 0) {
				fprintf(stderr, "bench: encode failed\n");
				return 1;
			}
			if ((n = mig_src_pending(&src, &out)) > MIG_FRAME_MAX) {
				memcpy(wire + wire_len, out, n);
				wire_len += n;
				mig_src_consume(&src, n);
			}
		}
		mig_src_round_end(&src, false, NULL);
		const uint8_t *out;
		size_t n = mig_src_pending(&src, &out);
		memcpy(wire + wire_len, out, n);
		wire_len += n;
		mig_src_consume(&src, n);
		t1 = now_s();
		if (t1 - t0 < t_enc)
			t_enc = t1 - t0;

		size_t at = 0;
		uint64_t pages = 0;
		t0 = now_s();
		while (at < wire_len) {
			struct mig_dst_event ev;
			size_t used;
			int rc = mig_dst_input(&dst, wire + at, wire_len - at, &used, &ev);
			at += used;
			if (rc < 0) {
				fprintf(stderr, "bench: decode failed: %s\n", dst.error);
				return 1;
			}
			if (rc == 1 && ev.kind == MIG_DST_EV_PAGE) {
				memcpy(dest + (size_t)ev.page * MIG_PAGE_SIZE, ev.data, MIG_PAGE_SIZE);
				pages++;
			}
		}
		t1 = now_s();
		if (t1 - t0 < t_dec)
			t_dec = t1 - t0;
		if (pages != PAGES || memcmp(dest, ram, ram_bytes) != 0) {
			fprintf(stderr, "bench: decoded RAM differs\n");
			return 1;
		}
		mig_src_fini(&src);
		mig_dst_fini(&dst);
	}

	double mb = (double)ram_bytes / 1e6;
	printf("migration stream CPU throughput, %d MiB of pages, best of %d\n", RAM_MIB, REPEAT);
	printf("%-34s %10s %10s\n", "WORK", "MB/S", "VS_MEMCPY");
	printf("%-34s %10.0f %10.3f\n", "memcpy", mb / t_memcpy, 1.0);
	printf("%-34s %10.0f %10.3f\n", "encode+checksum (source)", mb / t_enc, t_memcpy / t_enc);
	printf("%-34s %10.0f %10.3f\n", "verify+checksum+apply (destination)", mb / t_dec, t_memcpy / t_dec);
	printf("wire_bytes=%zu ram_bytes=%zu overhead_pct=%.2f\n", wire_len, ram_bytes,
	       100.0 * (double)(wire_len - ram_bytes) / (double)ram_bytes);

	printf("\nverify=before: the digest of all RAM at the pause, %d MiB, best of %d\n", RAM_MIB, REPEAT);
	printf("%-34s %10s %10s %12s\n", "HASH", "MB/S", "VS_MEMCPY", "MS_PER_GIB");
	if (crc32c_hardware())
		print_digest("crc32c (SSE4.2 instruction)", time_digest(ram, MIG_HASH_CRC32C), t_memcpy, mb);
	crc32c_force_software(true);
	print_digest("crc32c (byte table)", time_digest(ram, MIG_HASH_CRC32C), t_memcpy, mb);
	crc32c_force_software(false);
	print_digest("mix64", time_digest(ram, MIG_HASH_MIX64), t_memcpy, mb);
	free(ram);
	free(copy);
	free(dest);
	free(wire);
	return 0;
}
