/*
 * `make bench-ept`: the EPT dirty-bit scan of a 4 GiB guest (4 KiB mappings, as
 * Ferry builds them), in nanoseconds per guest page, beside a plain read of the
 * same tables in the same run: a walk that reads every leaf (the same traversal,
 * no writes) and a linear sum over the table frames (the memory-bandwidth bound).
 * Ratios are what count; absolute times on a shared machine are noise.
 */
#define _POSIX_C_SOURCE 200809L
#include "arch/x86/vmx/ept.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUEST_BYTES (4ull << 30)
#define PAGES (GUEST_BYTES / EPT_PAGE_SIZE)
#define RUNS 7
#define FAKE_TABLES_PHYS 0x40000000ull
#define FAKE_RAM_PHYS 0x100000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct ept ept;
static uint64_t *tables;
static uint64_t frames;
static uint64_t *bitmap;
static volatile uint64_t sink;

/* Sets the D bit on every `stride`-th page (0: none). */
static void dirty_every(uint64_t stride)
{
	if (!stride)
		return;
	for (uint64_t p = 0; p < PAGES; p += stride)
		*ept_leaf(&ept, p * EPT_PAGE_SIZE, NULL) |= EPT_DIRTY;
}

static double best_ns_per_page(int kind, uint64_t stride)
{
	uint64_t best = ~0ull;
	for (int r = 0; r < RUNS; r++) {
		dirty_every(stride);
		memset(bitmap, 0, PAGES / 8);
		uint64_t t0 = now_ns();
		if (kind == 0) {
			sink += ept_read_leaves(&ept);
		} else if (kind == 1) {
			uint64_t sum = 0, words = frames * (EPT_PAGE_SIZE / 8);
			for (uint64_t i = 0; i < words; i++)
				sum += tables[i];
			sink += sum;
		} else {
			sink += ept_collect_dirty(&ept, bitmap, PAGES);
		}
		uint64_t t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	return (double)best / (double)PAGES;
}

int main(void)
{
	frames = ept_tables_needed(GUEST_BYTES);
	tables = aligned_alloc(EPT_PAGE_SIZE, frames * EPT_PAGE_SIZE);
	bitmap = malloc(PAGES / 8);
	if (!tables || !bitmap)
		return 1;
	ept_init(&ept, tables, FAKE_TABLES_PHYS, frames);
	if (ept_map(&ept, 0, FAKE_RAM_PHYS, GUEST_BYTES, EPT_RWX, EPT_MEMTYPE_WB, false)) {
		fprintf(stderr, "bench-ept: mapping failed\n");
		return 1;
	}
	double walk = best_ns_per_page(0, 0);
	double linear = best_ns_per_page(1, 0);
	struct { const char *name; int kind; uint64_t stride; } rows[] = {
		{ "plain read: walk every leaf", 0, 0 },
		{ "plain read: linear sum of tables", 1, 0 },
		{ "D-bit scan, nothing dirty", 2, 0 },
		{ "D-bit scan, 1/64 pages dirty", 2, 64 },
		{ "D-bit scan, 1/4 pages dirty", 2, 4 },
		{ "D-bit scan, all pages dirty", 2, 1 },
	};
	printf("EPT of a 4 GiB guest: %llu pages, %llu table frames (%llu KiB), best of %d runs\n",
	       (unsigned long long)PAGES, (unsigned long long)frames,
	       (unsigned long long)(frames * 4), RUNS);
	printf("%-34s %12s %14s %16s\n", "CASE", "NS_PER_PAGE", "VS_WALK_READ", "VS_LINEAR_READ");
	for (unsigned i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double ns = i == 0 ? walk : i == 1 ? linear : best_ns_per_page(rows[i].kind, rows[i].stride);
		printf("%-34s %12.3f %13.2fx %15.2fx\n", rows[i].name, ns, ns / walk, ns / linear);
	}
	free(tables);
	free(bitmap);
	return 0;
}
