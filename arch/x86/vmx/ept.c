/* EPT builder, translation and dirty scan; see ept.h. Formats: SDM Vol. 3C 29.3.2. */
#include "arch/x86/vmx/ept.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define LEVELS 4
#define LEVEL_SHIFT(level) (12 + 9 * (level))   /* level 0: PT ... level 3: PML4 */
#define PRESENT_MASK EPT_RWX                    /* an entry is present when any of R/W/X is set */
#define NONLEAF_PERMS EPT_RWX                   /* leaves decide the permissions */
#define PAGES_PER_LARGE (EPT_LARGE_SIZE / EPT_PAGE_SIZE)

static unsigned index_at(uint64_t gpa, unsigned level)
{
	return (gpa >> LEVEL_SHIFT(level)) % EPT_ENTRIES;
}

static bool present(uint64_t entry)
{
	return entry & PRESENT_MASK;
}

static uint64_t *table_at(const struct ept *e, uint64_t phys)
{
	uint64_t offset = phys - e->tables_phys;

	if (phys < e->tables_phys || offset / EPT_PAGE_SIZE >= e->used_frames)
		return NULL;   /* not one of ours: a corrupted entry */
	return e->tables + offset / sizeof(uint64_t);
}

uint64_t ept_tables_needed(uint64_t bytes)
{
	uint64_t pages = (bytes + EPT_PAGE_SIZE - 1) / EPT_PAGE_SIZE;
	uint64_t pts = (pages + EPT_ENTRIES - 1) / EPT_ENTRIES;
	uint64_t pds = (pts + EPT_ENTRIES - 1) / EPT_ENTRIES;
	uint64_t pdpts = (pds + EPT_ENTRIES - 1) / EPT_ENTRIES;

	return 1 + pdpts + pds + pts;
}

void ept_init(struct ept *e, uint64_t *tables, uint64_t tables_phys, uint64_t table_frames)
{
	e->tables = tables;
	e->tables_phys = tables_phys;
	e->table_frames = table_frames;
	e->used_frames = table_frames ? 1 : 0;
	e->mapped_bytes = 0;
	if (table_frames)
		memset(tables, 0, EPT_PAGE_SIZE);
}

uint64_t ept_root(const struct ept *e)
{
	return e->tables_phys;
}

static uint64_t *new_table(struct ept *e, uint64_t *phys)
{
	if (e->used_frames >= e->table_frames)
		return NULL;
	uint64_t *t = e->tables + e->used_frames * (EPT_PAGE_SIZE / sizeof(uint64_t));
	*phys = e->tables_phys + e->used_frames * EPT_PAGE_SIZE;
	e->used_frames++;
	memset(t, 0, EPT_PAGE_SIZE);
	return t;
}

/* The entry for gpa at `level`, creating the tables above it; NULL when out of frames or blocked by a large leaf. */
static uint64_t *entry_for(struct ept *e, uint64_t gpa, unsigned level, int *err)
{
	uint64_t *table = e->tables;

	for (unsigned l = LEVELS - 1; l > level; l--) {
		uint64_t *entry = &table[index_at(gpa, l)];
		if (!present(*entry)) {
			uint64_t phys;
			uint64_t *t = new_table(e, &phys);
			if (!t) {
				*err = FERR_NOMEM;
				return NULL;
			}
			*entry = phys | NONLEAF_PERMS;
		} else if (*entry & EPT_LARGE) {
			*err = FERR_INVAL;
			return NULL;
		}
		table = table_at(e, *entry & EPT_ADDR_MASK);
		if (!table) {
			*err = FERR_INVAL;
			return NULL;
		}
	}
	return &table[index_at(gpa, level)];
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t bytes, uint64_t perms,
	    unsigned memtype, bool allow_large)
{
	if ((gpa | hpa | bytes) % EPT_PAGE_SIZE || !bytes || gpa + bytes > EPT_MAX_GPA ||
	    gpa + bytes < gpa || hpa & ~EPT_ADDR_MASK || (perms & ~EPT_RWX) || !(perms & EPT_READ) ||
	    memtype > EPT_MEMTYPE_WB || !e->table_frames)
		return FERR_INVAL;   /* write- or execute-only entries are misconfigurations (29.3.3.1) */
	uint64_t done = 0;
	while (done < bytes) {
		uint64_t g = gpa + done, h = hpa + done;
		bool large = allow_large && g % EPT_LARGE_SIZE == 0 && h % EPT_LARGE_SIZE == 0 &&
			     bytes - done >= EPT_LARGE_SIZE;
		int err = FERR_OK;
		uint64_t *entry = entry_for(e, g, large ? 1 : 0, &err);
		if (!entry)
			return err;
		if (present(*entry))
			return FERR_INVAL;
		*entry = h | perms | (uint64_t)memtype << EPT_MEMTYPE_SHIFT | (large ? EPT_LARGE : 0);
		done += large ? EPT_LARGE_SIZE : EPT_PAGE_SIZE;
	}
	e->mapped_bytes += bytes;
	return FERR_OK;
}

uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, uint64_t *page_bytes)
{
	if (!e->table_frames || gpa >= EPT_MAX_GPA)
		return NULL;
	uint64_t *table = e->tables;
	for (unsigned l = LEVELS - 1;; l--) {
		uint64_t *entry = &table[index_at(gpa, l)];
		if (!present(*entry))
			return NULL;
		if (l == 0 || (*entry & EPT_LARGE)) {
			if (page_bytes)
				*page_bytes = 1ull << LEVEL_SHIFT(l);
			return entry;
		}
		table = table_at(e, *entry & EPT_ADDR_MASK);
		if (!table)
			return NULL;
	}
}

int ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *perms,
		  unsigned *memtype)
{
	uint64_t size;
	uint64_t *leaf = ept_leaf(e, gpa, &size);

	if (!leaf)
		return FERR_NOENT;
	uint64_t base = *leaf & EPT_ADDR_MASK & ~(size - 1);
	*hpa = base + (gpa & (size - 1));
	if (perms)
		*perms = *leaf & EPT_RWX;
	if (memtype)
		*memtype = (unsigned)((*leaf & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT);
	return FERR_OK;
}

/*
 * Calls visit(ctx, table, gpa_base, level) for every page table (level 0) and
 * every page directory (level 1) reachable through present entries; the
 * visitor handles the leaves in it. One call per table, so the scans run their
 * inner loops without an indirect call per entry.
 */
typedef void (*leaf_table_fn)(void *ctx, uint64_t *table, uint64_t gpa_base, unsigned level);

static void walk(const struct ept *e, uint64_t *table, unsigned level, uint64_t gpa_base,
		 leaf_table_fn visit, void *ctx)
{
	if (level <= 1)
		visit(ctx, table, gpa_base, level);
	if (level == 0)
		return;
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		uint64_t entry = table[i];
		if (!present(entry) || (entry & EPT_LARGE))
			continue;
		uint64_t *child = table_at(e, entry & EPT_ADDR_MASK);
		if (child)
			walk(e, child, level - 1, gpa_base + ((uint64_t)i << LEVEL_SHIFT(level)), visit, ctx);
	}
}

static void walk_all(const struct ept *e, leaf_table_fn visit, void *ctx)
{
	if (e->table_frames)
		walk(e, e->tables, LEVELS - 1, 0, visit, ctx);
}

struct dirty_scan {
	uint64_t *bitmap;
	uint64_t bitmap_pages;
	uint64_t newly_dirty;
};

static void mark_pages(struct dirty_scan *s, uint64_t first_page, uint64_t count)
{
	for (uint64_t p = first_page; p < first_page + count && p < s->bitmap_pages; p++) {
		uint64_t bit = 1ull << (p % 64);
		if (!(s->bitmap[p / 64] & bit)) {
			s->bitmap[p / 64] |= bit;
			s->newly_dirty++;
		}
	}
}

static unsigned bits_set(uint64_t x)
{
	unsigned n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* ORs a word of 64 pages (starting at a multiple of 64) into the bitmap. */
static void merge_word(struct dirty_scan *s, uint64_t word, uint64_t mask)
{
	uint64_t first = word * 64;
	if (first >= s->bitmap_pages)
		return;
	if (s->bitmap_pages - first < 64)
		mask &= (1ull << (s->bitmap_pages - first)) - 1;
	s->newly_dirty += bits_set(mask & ~s->bitmap[word]);
	s->bitmap[word] |= mask;
}

static void scan_table(void *ctx, uint64_t *table, uint64_t gpa_base, unsigned level)
{
	struct dirty_scan *s = ctx;

	if (level == 0) {
		/* A page table covers 512 pages starting at a multiple of 512: 8 bitmap words. */
		uint64_t first_word = gpa_base / EPT_PAGE_SIZE / 64;
		for (unsigned w = 0; w < EPT_ENTRIES / 64; w++) {
			uint64_t mask = 0, *entries = table + 64 * w;
			for (unsigned j = 0; j < 64; j++) {
				uint64_t entry = entries[j];
				if ((entry & EPT_DIRTY) && present(entry)) {
					entries[j] = entry & ~EPT_DIRTY;
					mask |= 1ull << j;
				}
			}
			if (mask)
				merge_word(s, first_word + w, mask);
		}
		return;
	}
	for (unsigned i = 0; i < EPT_ENTRIES; i++) {
		uint64_t entry = table[i];
		if (!(entry & EPT_DIRTY) || !present(entry) || !(entry & EPT_LARGE))
			continue;
		table[i] = entry & ~EPT_DIRTY;
		mark_pages(s, gpa_base / EPT_PAGE_SIZE + i * PAGES_PER_LARGE, PAGES_PER_LARGE);
	}
}

uint64_t ept_collect_dirty(struct ept *e, uint64_t *bitmap, uint64_t bitmap_pages)
{
	struct dirty_scan s = { bitmap, bitmap_pages, 0 };

	walk_all(e, scan_table, &s);
	return s.newly_dirty;
}

static void clear_table(void *ctx, uint64_t *table, uint64_t gpa_base, unsigned level)
{
	(void)ctx;
	(void)gpa_base;
	for (unsigned i = 0; i < EPT_ENTRIES; i++)
		if (level == 0 || (table[i] & EPT_LARGE))
			table[i] &= ~EPT_DIRTY;
}

void ept_clear_dirty(struct ept *e)
{
	walk_all(e, clear_table, NULL);
}

static void sum_table(void *ctx, uint64_t *table, uint64_t gpa_base, unsigned level)
{
	uint64_t *sum = ctx, local = 0;   /* a local total: the table cannot alias it */

	(void)gpa_base;
	for (unsigned i = 0; i < EPT_ENTRIES; i++)
		if (level == 0 || (table[i] & EPT_LARGE))
			local += table[i];
	*sum += local;
}

uint64_t ept_read_leaves(const struct ept *e)
{
	uint64_t sum = 0;

	walk_all(e, sum_table, &sum);
	return sum;
}
