/* Nested page tables and their dirty tracking; see npt.h. Formats: AMD64 APM Vol. 2, 5.3 and 15.25. */
#include "arch/x86/svm/npt.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define TABLE_ENTRY_PERMS   (PTE_PRESENT | PTE_WRITABLE | PTE_USER)   /* leaves decide the permissions */
#define LEAF_READ_ONLY      (PTE_PRESENT | PTE_USER)
#define PAGES_PER_LARGE     (PAGE_2M / PAGE_SIZE)
#define MAX_HOST_PHYS       (1ull << 52)

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Tables per level for `pages` guest pages: page tables, directories, PDPTs. */
struct npt_shape {
	uint64_t pts, pds, pdpts;
};

static struct npt_shape shape_for(uint64_t pages)
{
	struct npt_shape s;

	s.pts = div_up(pages, PT_ENTRIES);
	s.pds = div_up(s.pts, PT_ENTRIES);
	s.pdpts = div_up(s.pds, PT_ENTRIES);
	return s;
}

uint64_t npt_tables_needed(uint64_t ram_bytes)
{
	struct npt_shape s = shape_for(div_up(ram_bytes, PAGE_SIZE));

	return 1 + s.pdpts + s.pds + s.pts;
}

static uint64_t *frame(struct npt *n, uint64_t index)
{
	return n->tables + index * PT_ENTRIES;
}

/* Points entries [0, count) of the flat table array `entries` at consecutive table frames from first_frame. */
static void link_level(struct npt *n, uint64_t *entries, uint64_t count, uint64_t first_frame)
{
	for (uint64_t i = 0; i < count; i++)
		entries[i] = (n->tables_phys + (first_frame + i) * PAGE_SIZE) | TABLE_ENTRY_PERMS;
}

int npt_build(struct npt *n, uint64_t *tables, uint64_t tables_phys, uint64_t table_frames,
	      uint64_t ram_phys, uint64_t ram_bytes)
{
	memset(n, 0, sizeof(*n));
	if ((ram_phys | ram_bytes | tables_phys) % PAGE_SIZE || !ram_bytes ||
	    ram_bytes > NPT_MAX_GPA || ram_phys + ram_bytes > MAX_HOST_PHYS || ram_phys + ram_bytes < ram_phys)
		return FERR_INVAL;
	uint64_t needed = npt_tables_needed(ram_bytes);
	if (table_frames < needed)
		return FERR_NOMEM;
	struct npt_shape s = shape_for(ram_bytes / PAGE_SIZE);
	n->tables = tables;
	n->tables_phys = tables_phys;
	n->ram_phys = ram_phys;
	n->pages = ram_bytes / PAGE_SIZE;
	memset(tables, 0, needed * PAGE_SIZE);

	uint64_t first_pdpt = 1, first_pd = first_pdpt + s.pdpts, first_pt = first_pd + s.pds;
	n->dirs = frame(n, first_pd);
	n->leaves = frame(n, first_pt);
	link_level(n, frame(n, 0), s.pdpts, first_pdpt);
	link_level(n, frame(n, first_pdpt), s.pds, first_pd);
	link_level(n, n->dirs, s.pts, first_pt);
	for (uint64_t g = 0; g < n->pages; g++)
		n->leaves[g] = (ram_phys + g * PAGE_SIZE) | TABLE_ENTRY_PERMS;
	return FERR_OK;
}

uint64_t npt_root(const struct npt *n)
{
	return n->tables_phys;
}

static uint64_t regions(const struct npt *n)
{
	return div_up(n->pages, PAGES_PER_LARGE);
}

/* A region can be one large leaf when RAM covers all of it and its host address is aligned. */
static bool region_can_be_large(const struct npt *n, uint64_t region)
{
	return (region + 1) * PAGES_PER_LARGE <= n->pages &&
	       (n->ram_phys + region * PAGE_2M) % PAGE_2M == 0;
}

void npt_use_large_pages(struct npt *n, bool on)
{
	uint64_t first_pt = (uint64_t)(n->leaves - n->tables) / PT_ENTRIES;

	for (uint64_t r = 0; r < regions(n); r++) {
		if (!region_can_be_large(n, r))
			continue;
		if (on)
			n->dirs[r] = (n->ram_phys + r * PAGE_2M) | TABLE_ENTRY_PERMS | PTE_LARGE;
		else
			link_level(n, &n->dirs[r], 1, first_pt + r);
	}
	n->large = on;
}

int npt_translate(const struct npt *n, uint64_t gpa, uint64_t *hpa, bool *writable,
		  uint64_t *page_bytes)
{
	uint64_t g = gpa / PAGE_SIZE;

	if (g >= n->pages)
		return FERR_NOENT;
	uint64_t dir = n->dirs[g / PAGES_PER_LARGE];
	bool large = dir & PTE_LARGE;
	uint64_t entry = large ? dir : n->leaves[g];
	uint64_t size = large ? PAGE_2M : PAGE_SIZE;
	if (!(entry & PTE_PRESENT))
		return FERR_NOENT;
	*hpa = (entry & PTE_ADDR_MASK & ~(size - 1)) + (gpa & (size - 1));
	if (writable)
		*writable = entry & PTE_WRITABLE;
	if (page_bytes)
		*page_bytes = size;
	return FERR_OK;
}

/* ORs mask into bitmap word w (pages past n->pages ignored); returns the bits newly set. */
static uint64_t merge_word(const struct npt *n, uint64_t *bitmap, uint64_t w, uint64_t mask)
{
	uint64_t first = w * BITMAP_WORD_BITS;

	if (n->pages - first < BITMAP_WORD_BITS)
		mask &= (1ull << (n->pages - first)) - 1;
	uint64_t fresh = mask & ~bitmap[w];
	bitmap[w] |= mask;
	return bitmap_word_weight(fresh);
}

/* Collects and clears the D bits of the 4 KiB leaves of one region, a bitmap word at a time. */
static uint64_t collect_region_leaves(struct npt *n, uint64_t region, uint64_t *bitmap)
{
	uint64_t first = region * PAGES_PER_LARGE, end = first + PAGES_PER_LARGE, newly = 0;

	if (end > n->pages)
		end = n->pages;
	for (uint64_t g0 = first; g0 < end; g0 += BITMAP_WORD_BITS) {
		uint64_t mask = 0, count = end - g0 < BITMAP_WORD_BITS ? end - g0 : BITMAP_WORD_BITS;
		uint64_t *leaf = n->leaves + g0;
		for (uint64_t j = 0; j < count; j++) {
			uint64_t entry = leaf[j];
			if (entry & PTE_DIRTY) {
				leaf[j] = entry & ~PTE_DIRTY;
				mask |= 1ull << j;
			}
		}
		if (mask)
			newly += merge_word(n, bitmap, g0 / BITMAP_WORD_BITS, mask);
	}
	return newly;
}

uint64_t npt_collect_dirty(struct npt *n, uint64_t *bitmap)
{
	uint64_t newly = 0;

	for (uint64_t r = 0; r < regions(n); r++) {
		uint64_t dir = n->dirs[r];
		if (!(dir & PTE_LARGE)) {
			newly += collect_region_leaves(n, r, bitmap);
			continue;
		}
		if (!(dir & PTE_DIRTY))
			continue;
		n->dirs[r] = dir & ~PTE_DIRTY;
		uint64_t first_word = r * PAGES_PER_LARGE / BITMAP_WORD_BITS;
		for (uint64_t w = 0; w < PAGES_PER_LARGE / BITMAP_WORD_BITS; w++)
			newly += merge_word(n, bitmap, first_word + w, ~0ull);
	}
	return newly;
}

void npt_clear_dirty(struct npt *n)
{
	for (uint64_t g = 0; g < n->pages; g++)
		n->leaves[g] &= ~PTE_DIRTY;
	for (uint64_t r = 0; r < regions(n); r++)
		if (n->dirs[r] & PTE_LARGE)
			n->dirs[r] &= ~PTE_DIRTY;
}

void npt_wp_start(struct npt *n, uint64_t *log)
{
	npt_use_large_pages(n, false);
	memset(log, 0, bitmap_words(n->pages) * sizeof(uint64_t));
	for (uint64_t g = 0; g < n->pages; g++)
		n->leaves[g] &= ~PTE_WRITABLE;
	n->wp_log = log;
}

enum npt_wp_fault npt_wp_fault(struct npt *n, uint64_t gpa)
{
	uint64_t g = gpa / PAGE_SIZE;

	if (!n->wp_log || g >= n->pages)
		return NPT_WP_NOT_TRACKED;
	if (n->leaves[g] & PTE_WRITABLE)
		return NPT_WP_STALE;
	n->leaves[g] |= PTE_WRITABLE;
	bitmap_set(n->wp_log, g);
	return NPT_WP_LOGGED;
}

uint64_t npt_wp_collect(struct npt *n, uint64_t *bitmap)
{
	uint64_t newly = 0;

	if (!n->wp_log)
		return 0;
	for (uint64_t w = 0; w < bitmap_words(n->pages); w++) {
		uint64_t logged = n->wp_log[w];
		if (!logged)
			continue;
		n->wp_log[w] = 0;
		newly += merge_word(n, bitmap, w, logged);
		for (; logged; logged &= logged - 1)
			n->leaves[w * BITMAP_WORD_BITS + (uint64_t)__builtin_ctzll(logged)] &= ~PTE_WRITABLE;
	}
	return newly;
}

void npt_wp_stop(struct npt *n)
{
	for (uint64_t g = 0; g < n->pages; g++)
		n->leaves[g] |= PTE_WRITABLE;
	n->wp_log = NULL;
}

uint64_t npt_read_leaves(const struct npt *n)
{
	uint64_t sum = 0;

	for (uint64_t g = 0; g < n->pages; g++)
		sum += n->leaves[g];
	return sum;
}
