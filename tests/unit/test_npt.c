/* Host tests of the nested page tables and their dirty tracking (arch/x86/svm/npt.c), on tables in ordinary memory. */
#include "check.h"
#include "arch/x86/svm/npt.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"

#include <stdlib.h>
#include <string.h>

#define FAKE_TABLES_PHYS 0x40000000ull    /* pretend host-physical address of the table run */
#define FAKE_RAM_PHYS    0x100000000ull   /* 2 MiB aligned */
#define LEVEL_SHIFT(l)   (12 + 9 * (l))
#define LEAF_PERMS       (PTE_PRESENT | PTE_WRITABLE | PTE_USER)

struct tables {
	struct npt npt;
	uint64_t *mem;
	uint64_t frames;
};

static struct tables make(uint64_t ram_phys, uint64_t ram_bytes)
{
	struct tables t;
	t.frames = npt_tables_needed(ram_bytes);
	t.mem = aligned_alloc(PAGE_SIZE, t.frames * PAGE_SIZE);
	memset(t.mem, 0xa5, t.frames * PAGE_SIZE);   /* npt_build must clear what it uses */
	CHECK_EQ_I(npt_build(&t.npt, t.mem, FAKE_TABLES_PHYS, t.frames, ram_phys, ram_bytes), 0);
	return t;
}

/* An independent walker, as the CPU walks: from the root through each level's entry. */
static int walk(const struct tables *t, uint64_t gpa, uint64_t *hpa, uint64_t *leaf_entry)
{
	uint64_t table_phys = FAKE_TABLES_PHYS;

	for (int level = 3; level >= 0; level--) {
		uint64_t frame = (table_phys - FAKE_TABLES_PHYS) / PAGE_SIZE;
		if (table_phys < FAKE_TABLES_PHYS || frame >= t->frames)
			return -1;
		uint64_t entry = t->mem[frame * PT_ENTRIES + ((gpa >> LEVEL_SHIFT(level)) & 511)];
		if (!(entry & PTE_PRESENT))
			return -1;
		if ((entry & LEAF_PERMS) != LEAF_PERMS && level > 0)
			return -2;   /* a table entry must allow everything; the leaf decides */
		if (level == 0 || (level == 1 && (entry & PTE_LARGE))) {
			uint64_t size = 1ull << LEVEL_SHIFT(level);
			*hpa = (entry & PTE_ADDR_MASK & ~(size - 1)) + (gpa & (size - 1));
			*leaf_entry = entry;
			return 0;
		}
		table_phys = entry & PTE_ADDR_MASK;
	}
	return -1;
}

static uint64_t *bitmap_for(const struct npt *n)
{
	return calloc(bitmap_words(n->pages), sizeof(uint64_t));
}

TEST(tables_needed_match_a_4k_mapping)
{
	CHECK_EQ_U(npt_tables_needed(2 * MIB), 1 + 1 + 1 + 1);
	CHECK_EQ_U(npt_tables_needed(32 * MIB), 1 + 1 + 1 + 16);
	CHECK_EQ_U(npt_tables_needed(4096 * MIB), 1 + 1 + 4 + 2048);
	CHECK_EQ_U(npt_tables_needed(1 * MIB), 4);
}

TEST(build_maps_every_page_and_nothing_else)
{
	uint64_t ram = GIB + 6 * MIB;   /* two page directories, a partial last one */
	struct tables t = make(FAKE_RAM_PHYS, ram);
	CHECK_EQ_U(npt_root(&t.npt), FAKE_TABLES_PHYS);
	CHECK_EQ_U(t.npt.pages, ram / PAGE_SIZE);
	static const uint64_t probes[] = { 0, 0x1234, 2 * MIB - 8, 2 * MIB, GIB - 1, GIB, GIB + 6 * MIB - 1 };
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t hpa = 0, entry = 0, via = 0;
		bool writable = false;
		CHECK_EQ_I(walk(&t, probes[i], &hpa, &entry), 0);
		CHECK_EQ_U(hpa, FAKE_RAM_PHYS + probes[i]);
		CHECK_EQ_U(entry & ~PTE_ADDR_MASK, LEAF_PERMS);
		CHECK_EQ_I(npt_translate(&t.npt, probes[i], &via, &writable, NULL), 0);
		CHECK_EQ_U(via, hpa);
		CHECK(writable);
	}
	uint64_t hpa, entry;
	CHECK_EQ_I(walk(&t, ram, &hpa, &entry), -1);
	CHECK_EQ_I(walk(&t, 0xc0000000ull + GIB, &hpa, &entry), -1);
	CHECK_EQ_I(walk(&t, 512ull << 30, &hpa, &entry), -1);
	CHECK_EQ_I(npt_translate(&t.npt, ram, &hpa, NULL, NULL), FERR_NOENT);
	free(t.mem);
}

TEST(bad_requests_are_refused)
{
	uint64_t mem[4 * PT_ENTRIES];
	struct npt n;
	CHECK_EQ_I(npt_build(&n, mem, FAKE_TABLES_PHYS, 4, FAKE_RAM_PHYS + 1, MIB), FERR_INVAL);
	CHECK_EQ_I(npt_build(&n, mem, FAKE_TABLES_PHYS, 4, FAKE_RAM_PHYS, 0), FERR_INVAL);
	CHECK_EQ_I(npt_build(&n, mem, FAKE_TABLES_PHYS, 4, FAKE_RAM_PHYS, MIB + 8), FERR_INVAL);
	CHECK_EQ_I(npt_build(&n, mem, FAKE_TABLES_PHYS, 4, 1ull << 52, MIB), FERR_INVAL);
	CHECK_EQ_I(npt_build(&n, mem, FAKE_TABLES_PHYS, 4, FAKE_RAM_PHYS, 4 * MIB), FERR_NOMEM);
}

TEST(large_pages_where_aligned_and_back)
{
	struct tables t = make(FAKE_RAM_PHYS, 7 * MIB);   /* three whole regions and half of one */
	uint64_t hpa, entry, size;
	npt_use_large_pages(&t.npt, true);
	CHECK_EQ_I(walk(&t, 4 * MIB + 0x123, &hpa, &entry), 0);
	CHECK(entry & PTE_LARGE);
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 4 * MIB + 0x123);
	CHECK_EQ_I(npt_translate(&t.npt, 4 * MIB, &hpa, NULL, &size), 0);
	CHECK_EQ_U(size, PAGE_2M);
	CHECK_EQ_I(walk(&t, 6 * MIB + 0x10, &hpa, &entry), 0);   /* the partial region keeps 4 KiB leaves */
	CHECK(!(entry & PTE_LARGE));
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 6 * MIB + 0x10);
	npt_use_large_pages(&t.npt, false);
	CHECK_EQ_I(walk(&t, 4 * MIB + 0x123, &hpa, &entry), 0);
	CHECK(!(entry & PTE_LARGE));
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 4 * MIB + 0x123);
	free(t.mem);

	/* Host RAM not 2 MiB aligned: no large leaf anywhere. */
	struct tables u = make(FAKE_RAM_PHYS + PAGE_SIZE, 8 * MIB);
	npt_use_large_pages(&u.npt, true);
	for (uint64_t gpa = 0; gpa < 8 * MIB; gpa += 2 * MIB) {
		CHECK_EQ_I(walk(&u, gpa, &hpa, &entry), 0);
		CHECK(!(entry & PTE_LARGE));
		CHECK_EQ_U(hpa, FAKE_RAM_PHYS + PAGE_SIZE + gpa);
	}
	free(u.mem);
}

static uint64_t *leaf_of(struct tables *t, uint64_t page)
{
	return &t->npt.leaves[page];
}

TEST(dirty_bits_are_collected_cleared_and_counted_once)
{
	struct tables t = make(FAKE_RAM_PHYS, 33 * MIB);   /* not a multiple of 2 MiB */
	uint64_t pages = t.npt.pages;
	static const uint64_t dirty[] = { 0, 1, 63, 64, 511, 512, 4095, 8447 };
	CHECK_EQ_U(pages, 8448);
	for (unsigned i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++)
		*leaf_of(&t, dirty[i]) |= PTE_DIRTY | PTE_ACCESSED;
	*leaf_of(&t, 77) |= PTE_ACCESSED;   /* read, not written */
	uint64_t *b = bitmap_for(&t.npt);
	CHECK_EQ_U(npt_collect_dirty(&t.npt, b), 8);
	for (unsigned i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++)
		CHECK(bitmap_test(b, dirty[i]));
	CHECK_EQ_U(bitmap_weight(b, pages), 8);
	CHECK(!bitmap_test(b, 77));
	CHECK_EQ_U(npt_collect_dirty(&t.npt, b), 0);
	CHECK(!(*leaf_of(&t, 511) & PTE_DIRTY) && (*leaf_of(&t, 511) & PTE_ACCESSED));
	CHECK_EQ_U(*leaf_of(&t, 511) & PTE_ADDR_MASK, FAKE_RAM_PHYS + 511 * PAGE_SIZE);
	/* A page already in the bitmap is not counted again. */
	*leaf_of(&t, 511) |= PTE_DIRTY;
	*leaf_of(&t, 7) |= PTE_DIRTY;
	CHECK_EQ_U(npt_collect_dirty(&t.npt, b), 1);
	/* npt_clear_dirty forgets without reporting. */
	*leaf_of(&t, 9) |= PTE_DIRTY;
	npt_clear_dirty(&t.npt);
	memset(b, 0, bitmap_words(pages) * sizeof(uint64_t));
	CHECK_EQ_U(npt_collect_dirty(&t.npt, b), 0);
	free(b);
	free(t.mem);
}

TEST(a_dirty_large_leaf_marks_its_512_pages)
{
	struct tables t = make(FAKE_RAM_PHYS, 8 * MIB);
	npt_use_large_pages(&t.npt, true);
	t.npt.dirs[1] |= PTE_DIRTY;
	uint64_t *b = bitmap_for(&t.npt);
	CHECK_EQ_U(npt_collect_dirty(&t.npt, b), 512);
	CHECK(!bitmap_test(b, 511) && bitmap_test(b, 512) && bitmap_test(b, 1023) && !bitmap_test(b, 1024));
	CHECK(!(t.npt.dirs[1] & PTE_DIRTY) && (t.npt.dirs[1] & PTE_LARGE));
	free(b);
	free(t.mem);
}

TEST(write_protect_tracking_logs_first_writes_per_round)
{
	struct tables t = make(FAKE_RAM_PHYS, 16 * MIB);
	uint64_t *log = bitmap_for(&t.npt), *b = bitmap_for(&t.npt);
	uint64_t hpa, entry;
	bool writable = true;

	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x5000), NPT_WP_NOT_TRACKED);   /* no log yet */
	npt_use_large_pages(&t.npt, true);
	memset(log, 0xff, bitmap_words(t.npt.pages) * sizeof(uint64_t));
	npt_wp_start(&t.npt, log);
	CHECK(!t.npt.large);
	for (uint64_t gpa = 0; gpa < 16 * MIB; gpa += MIB) {
		CHECK_EQ_I(walk(&t, gpa, &hpa, &entry), 0);
		CHECK(!(entry & PTE_WRITABLE) && !(entry & PTE_LARGE) && (entry & PTE_PRESENT));
	}
	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x5008), NPT_WP_LOGGED);
	CHECK_EQ_I(npt_translate(&t.npt, 0x5000, &hpa, &writable, NULL), 0);
	CHECK(writable);
	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x5000), NPT_WP_STALE);
	CHECK_EQ_I(npt_wp_fault(&t.npt, 16 * MIB), NPT_WP_NOT_TRACKED);
	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x3000), NPT_WP_LOGGED);
	CHECK_EQ_U(npt_wp_collect(&t.npt, b), 2);
	CHECK(bitmap_test(b, 5) && bitmap_test(b, 3) && bitmap_weight(b, t.npt.pages) == 2);
	CHECK_EQ_I(npt_translate(&t.npt, 0x5000, &hpa, &writable, NULL), 0);
	CHECK(!writable);   /* read-only again for the next round */
	CHECK_EQ_U(npt_wp_collect(&t.npt, b), 0);
	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x5000), NPT_WP_LOGGED);
	CHECK_EQ_U(npt_wp_collect(&t.npt, b), 0);   /* already in the caller's bitmap */
	npt_wp_stop(&t.npt);
	CHECK_EQ_I(walk(&t, 0x7000, &hpa, &entry), 0);
	CHECK(entry & PTE_WRITABLE);
	CHECK_EQ_I(npt_wp_fault(&t.npt, 0x7000), NPT_WP_NOT_TRACKED);
	free(log);
	free(b);
	free(t.mem);
}

TEST(read_leaves_sums_every_leaf)
{
	struct tables t = make(FAKE_RAM_PHYS, 2 * MIB);
	uint64_t expect = 0;
	for (uint64_t g = 0; g < 512; g++)
		expect += (FAKE_RAM_PHYS + g * PAGE_SIZE) | LEAF_PERMS;
	CHECK_EQ_U(npt_read_leaves(&t.npt), expect);
	free(t.mem);
}

int main(void)
{
	return run_tests();
}
