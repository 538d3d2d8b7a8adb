/*
 * `make bench-npt`: the dirty tracking of a 4 GiB guest's nested page tables
 * (arch/x86/svm/npt.c, 4 KiB leaves, as while tracking), in nanoseconds per guest
 * page, beside a plain read of the same leaves in the same run. Cases: the D-bit
 * scan (npt-ad) at several dirty fractions, and the write-protect collect
 * (npt-wp), whose cost follows the logged pages rather than guest RAM.
 * Ratios are what count; absolute times on a shared machine are noise.
 */
#define _POSIX_C_SOURCE 200809L
#include "arch/x86/svm/npt.h"
#include "kernel/lib/bitmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUEST_BYTES      (4ull << 30)
#define GUEST_PAGES      (GUEST_BYTES / PAGE_SIZE)
#define BEST_OF          7
#define FAKE_TABLES_PHYS 0x40000000ull
#define FAKE_RAM_PHYS    0x100000000ull

static struct npt npt;
static uint64_t *bitmap, *wp_log;
static volatile uint64_t sink;

static uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What the guest wrote since the last collect: every stride-th page (0: nothing). */
static void write_pages_ad(uint64_t stride)
{
	for (uint64_t g = 0; stride && g < GUEST_PAGES; g += stride)
		npt.leaves[g] |= PTE_DIRTY;
}

static void write_pages_wp(uint64_t stride)
{
	for (uint64_t g = 0; stride && g < GUEST_PAGES; g += stride)
		npt_wp_fault(&npt, g * PAGE_SIZE);
}

static void read_leaves(void) { sink += npt_read_leaves(&npt); }
static void scan_ad(void) { sink += npt_collect_dirty(&npt, bitmap); }
static void collect_wp(void) { sink += npt_wp_collect(&npt, bitmap); }

struct bench_case {
	const char *name;
	void (*prepare)(uint64_t stride);
	void (*measured)(void);
	uint64_t stride;
};

static double ns_per_page(const struct bench_case *c)
{
	uint64_t best = ~0ull;

	for (int run = 0; run < BEST_OF; run++) {
		if (c->prepare)
			c->prepare(c->stride);
		memset(bitmap, 0, bitmap_words(GUEST_PAGES) * sizeof(uint64_t));
		uint64_t start = clock_ns();
		c->measured();
		uint64_t took = clock_ns() - start;
		best = took < best ? took : best;
	}
	return (double)best / (double)GUEST_PAGES;
}

int main(void)
{
	uint64_t frames = npt_tables_needed(GUEST_BYTES);
	uint64_t *tables = aligned_alloc(PAGE_SIZE, frames * PAGE_SIZE);
	bitmap = malloc(bitmap_words(GUEST_PAGES) * sizeof(uint64_t));
	wp_log = malloc(bitmap_words(GUEST_PAGES) * sizeof(uint64_t));
	if (!tables || !bitmap || !wp_log ||
	    npt_build(&npt, tables, FAKE_TABLES_PHYS, frames, FAKE_RAM_PHYS, GUEST_BYTES)) {
		fprintf(stderr, "bench-npt: set-up failed\n");
		return 1;
	}
	const struct bench_case ad_cases[] = {
		{ "plain read of every leaf", NULL, read_leaves, 0 },
		{ "npt-ad scan, nothing dirty", write_pages_ad, scan_ad, 0 },
		{ "npt-ad scan, 1/64 pages dirty", write_pages_ad, scan_ad, 64 },
		{ "npt-ad scan, 1/4 pages dirty", write_pages_ad, scan_ad, 4 },
		{ "npt-ad scan, all pages dirty", write_pages_ad, scan_ad, 1 },
	};
	const struct bench_case wp_cases[] = {
		{ "npt-wp collect, nothing logged", write_pages_wp, collect_wp, 0 },
		{ "npt-wp collect, 1/64 pages logged", write_pages_wp, collect_wp, 64 },
		{ "npt-wp collect, all pages logged", write_pages_wp, collect_wp, 1 },
	};
	printf("NPT of a 4 GiB guest: %llu pages, %llu table frames (%llu KiB), best of %d runs\n",
	       (unsigned long long)GUEST_PAGES, (unsigned long long)frames,
	       (unsigned long long)(frames * PAGE_SIZE / 1024), BEST_OF);
	printf("%-36s %12s %14s\n", "CASE", "NS_PER_PAGE", "VS_PLAIN_READ");
	double plain = ns_per_page(&ad_cases[0]);
	for (unsigned i = 0; i < sizeof(ad_cases) / sizeof(ad_cases[0]); i++) {
		double ns = i ? ns_per_page(&ad_cases[i]) : plain;
		printf("%-36s %12.3f %13.2fx\n", ad_cases[i].name, ns, ns / plain);
	}
	npt_wp_start(&npt, wp_log);
	for (unsigned i = 0; i < sizeof(wp_cases) / sizeof(wp_cases[0]); i++) {
		double ns = ns_per_page(&wp_cases[i]);
		printf("%-36s %12.3f %13.2fx\n", wp_cases[i].name, ns, ns / plain);
	}
	free(tables);
	free(bitmap);
	free(wp_log);
	return 0;
}
