/* Host tests of the EPT builder and dirty scan (arch/x86/vmx/ept.c), on tables in ordinary memory. */
#include "check.h"
#include "arch/x86/vmx/ept.h"
#include "kernel/lib/errors.h"

#include <stdlib.h>
#include <string.h>

#define FAKE_TABLES_PHYS 0x40000000ull   /* pretend host-physical address of the table run */
#define FAKE_RAM_PHYS    0x100000000ull
#define MIB (1ull << 20)

struct tables {
	struct ept ept;
	uint64_t *mem;
};

static struct tables make(uint64_t frames)
{
	struct tables t;
	t.mem = aligned_alloc(EPT_PAGE_SIZE, frames * EPT_PAGE_SIZE);
	memset(t.mem, 0xa5, frames * EPT_PAGE_SIZE);   /* ept_init/new tables must clear what they use */
	ept_init(&t.ept, t.mem, FAKE_TABLES_PHYS, frames);
	return t;
}

static uint64_t *bitmap_for(uint64_t pages)
{
	return calloc((pages + 63) / 64, sizeof(uint64_t));
}

static bool bit(const uint64_t *b, uint64_t i)
{
	return b[i / 64] & (1ull << (i % 64));
}

TEST(tables_needed_covers_4k_mapping)
{
	CHECK_EQ_U(ept_tables_needed(2 * MIB), 1 + 1 + 1 + 1);
	CHECK_EQ_U(ept_tables_needed(32 * MIB), 1 + 1 + 1 + 16);
	CHECK_EQ_U(ept_tables_needed(4096 * MIB), 1 + 1 + 4 + 2048);
	uint64_t frames = ept_tables_needed(32 * MIB);
	struct tables t = make(frames);
	CHECK_EQ_I(ept_map(&t.ept, 0, FAKE_RAM_PHYS, 32 * MIB, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	CHECK_EQ_U(t.ept.used_frames, frames);
	free(t.mem);
}

TEST(map_and_translate)
{
	struct tables t = make(ept_tables_needed(16 * MIB));
	CHECK_EQ_U(ept_root(&t.ept), FAKE_TABLES_PHYS);
	CHECK_EQ_I(ept_map(&t.ept, 0, FAKE_RAM_PHYS, 16 * MIB, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	uint64_t hpa = 0, perms = 0;
	unsigned type = 0;
	CHECK_EQ_I(ept_translate(&t.ept, 0x1234, &hpa, &perms, &type), 0);
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 0x1234);
	CHECK_EQ_U(perms, EPT_RWX);
	CHECK_EQ_U(type, EPT_MEMTYPE_WB);
	CHECK_EQ_I(ept_translate(&t.ept, 16 * MIB - 1, &hpa, NULL, NULL), 0);
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 16 * MIB - 1);
	CHECK_EQ_I(ept_translate(&t.ept, 16 * MIB, &hpa, NULL, NULL), FERR_NOENT);
	CHECK_EQ_I(ept_translate(&t.ept, 0xc0000000ull, &hpa, NULL, NULL), FERR_NOENT);
	/* Non-leaf entries: readable, writable, executable; leaves carry WB in bits 3-5. */
	uint64_t size = 0;
	uint64_t *leaf = ept_leaf(&t.ept, 0x5000, &size);
	CHECK(leaf != NULL);
	CHECK_EQ_U(size, EPT_PAGE_SIZE);
	CHECK_EQ_U(*leaf, (FAKE_RAM_PHYS + 0x5000) | EPT_RWX | (6ull << 3));
	CHECK_EQ_U(t.mem[0] & 7, EPT_RWX);
	free(t.mem);
}

TEST(permissions_and_memory_type)
{
	struct tables t = make(16);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x9000, 0x1000, EPT_READ, EPT_MEMTYPE_UC, false), 0);
	CHECK_EQ_I(ept_map(&t.ept, 0x2000, 0xa000, 0x1000, EPT_READ | EPT_EXEC, EPT_MEMTYPE_WB, false), 0);
	uint64_t hpa, perms;
	unsigned type;
	CHECK_EQ_I(ept_translate(&t.ept, 0x1000, &hpa, &perms, &type), 0);
	CHECK_EQ_U(perms, EPT_READ);
	CHECK_EQ_U(type, EPT_MEMTYPE_UC);
	CHECK_EQ_I(ept_translate(&t.ept, 0x2fff, &hpa, &perms, &type), 0);
	CHECK_EQ_U(hpa, 0xafff);
	CHECK_EQ_U(perms, EPT_READ | EPT_EXEC);
	CHECK_EQ_I(ept_translate(&t.ept, 0x0, &hpa, NULL, NULL), FERR_NOENT);
	free(t.mem);
}

TEST(bad_requests_are_refused)
{
	struct tables t = make(8);
	CHECK_EQ_I(ept_map(&t.ept, 0x1001, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), FERR_INVAL);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x1000, 0, EPT_RWX, EPT_MEMTYPE_WB, false), FERR_INVAL);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x1000, 0x1000, EPT_WRITE, EPT_MEMTYPE_WB, false), FERR_INVAL);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x1000, 0x1000, EPT_RWX, 7, false), FERR_INVAL);
	CHECK_EQ_I(ept_map(&t.ept, EPT_MAX_GPA, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), FERR_INVAL);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x2000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), FERR_INVAL);
	free(t.mem);
	/* Running out of table frames is FERR_NOMEM, not a write past the run. */
	struct tables small = make(3);
	CHECK_EQ_I(ept_map(&small.ept, 0, 0, 4 * MIB, EPT_RWX, EPT_MEMTYPE_WB, false), FERR_NOMEM);
	free(small.mem);
}

TEST(large_pages_map_translate_and_scan)
{
	struct tables t = make(8);
	CHECK_EQ_I(ept_map(&t.ept, 0, FAKE_RAM_PHYS, 8 * MIB, EPT_RWX, EPT_MEMTYPE_WB, true), 0);
	CHECK_EQ_U(t.ept.used_frames, 3);   /* PML4, PDPT, one PD: no page tables */
	uint64_t size, hpa;
	uint64_t *leaf = ept_leaf(&t.ept, 3 * MIB, &size);
	CHECK(leaf && (*leaf & EPT_LARGE));
	CHECK_EQ_U(size, EPT_LARGE_SIZE);
	CHECK_EQ_I(ept_translate(&t.ept, 3 * MIB + 0x123, &hpa, NULL, NULL), 0);
	CHECK_EQ_U(hpa, FAKE_RAM_PHYS + 3 * MIB + 0x123);

	uint64_t pages = 8 * MIB / EPT_PAGE_SIZE;
	uint64_t *b = bitmap_for(pages);
	*leaf |= EPT_DIRTY;   /* the 2 MiB page at 2 MiB */
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 512);
	CHECK(!bit(b, 511) && bit(b, 512) && bit(b, 1023) && !bit(b, 1024));
	CHECK(!(*leaf & EPT_DIRTY));
	CHECK(*leaf & EPT_LARGE);
	free(b);
	free(t.mem);
}

TEST(dirty_scan_finds_clears_and_counts_new_bits)
{
	uint64_t bytes = 32 * MIB, pages = bytes / EPT_PAGE_SIZE;
	struct tables t = make(ept_tables_needed(bytes));
	CHECK_EQ_I(ept_map(&t.ept, 0, FAKE_RAM_PHYS, bytes, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	static const uint64_t dirty[] = { 0, 1, 511, 512, 4095, 8191 };
	for (unsigned i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++)
		*ept_leaf(&t.ept, dirty[i] * EPT_PAGE_SIZE, NULL) |= EPT_DIRTY | EPT_ACCESSED;
	uint64_t *b = bitmap_for(pages);
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 6);
	for (unsigned i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++)
		CHECK(bit(b, dirty[i]));
	CHECK(!bit(b, 2) && !bit(b, 4094));
	/* Cleared: a second scan finds nothing; accessed bits and mappings stay. */
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 0);
	uint64_t *leaf = ept_leaf(&t.ept, 511 * EPT_PAGE_SIZE, NULL);
	CHECK(!(*leaf & EPT_DIRTY) && (*leaf & EPT_ACCESSED) && (*leaf & EPT_RWX) == EPT_RWX);
	/* A page already in the bitmap is not counted again. */
	*leaf |= EPT_DIRTY;
	*ept_leaf(&t.ept, 7 * EPT_PAGE_SIZE, NULL) |= EPT_DIRTY;
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 1);
	CHECK(bit(b, 7));
	/* clear_dirty clears without reporting. */
	*ept_leaf(&t.ept, 9 * EPT_PAGE_SIZE, NULL) |= EPT_DIRTY;
	ept_clear_dirty(&t.ept);
	memset(b, 0, (pages + 63) / 64 * 8);
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 0);
	free(b);
	free(t.mem);
}

/* Counts the tables the scan touches through a wrapper run: a sparse map costs little. */
TEST(scan_cost_follows_mapped_pages)
{
	/* Two 4 KiB pages 512 GiB apart (two PML4 entries) need only their own paths, and the scan visits only those. */
	struct tables t = make(16);
	CHECK_EQ_I(ept_map(&t.ept, 0x1000, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	CHECK_EQ_I(ept_map(&t.ept, 512ull << 30, 0x2000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	CHECK_EQ_U(t.ept.used_frames, 7);   /* PML4 + 2 x (PDPT, PD, PT) */
	*ept_leaf(&t.ept, 512ull << 30, NULL) |= EPT_DIRTY;
	uint64_t pages = (512ull << 30) / EPT_PAGE_SIZE + 1;
	uint64_t *b = bitmap_for(pages);
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, pages), 1);
	CHECK(bit(b, pages - 1));
	/* Pages past the bitmap are cleared but not recorded. */
	*ept_leaf(&t.ept, 512ull << 30, NULL) |= EPT_DIRTY;
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, 16), 0);
	CHECK(!(*ept_leaf(&t.ept, 512ull << 30, NULL) & EPT_DIRTY));
	free(b);
	free(t.mem);
}

TEST(corrupt_pointer_is_not_followed)
{
	struct tables t = make(8);
	CHECK_EQ_I(ept_map(&t.ept, 0, 0x1000, 0x1000, EPT_RWX, EPT_MEMTYPE_WB, false), 0);
	t.mem[0] = 0xdead000ull | EPT_RWX;   /* PML4[0] now points outside the run */
	uint64_t hpa;
	CHECK_EQ_I(ept_translate(&t.ept, 0, &hpa, NULL, NULL), FERR_NOENT);
	uint64_t b[1] = { 0 };
	CHECK_EQ_U(ept_collect_dirty(&t.ept, b, 64), 0);
	free(t.mem);
}

int main(void)
{
	return run_tests();
}
