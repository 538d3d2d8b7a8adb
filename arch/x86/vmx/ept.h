/*
 * Extended page tables (SDM Vol. 3C 29.3): the builder that maps guest-physical
 * to host-physical memory, translation, and the dirty-bit scan that live
 * migration and `dirty` use.
 *
 * Portable (image and host). The tables of one guest live in one contiguous
 * run of frames the caller provides (`tables`, whose host-physical address is
 * `tables_phys`); the builder hands out table frames from it in order, so a
 * table's pointer is found from its physical address without any host page
 * tables, and the host unit tests can build real tables in ordinary memory.
 *
 * Entry format (tables 29-1 to 29-6): bits 0-2 read/write/execute, 3-5 memory
 * type (leaves), 7 large page, 8 accessed, 9 dirty (leaves; only with A/D bits
 * enabled in the EPTP), 12-51 the address.
 */
#ifndef FERRY_ARCH_X86_EPT_H
#define FERRY_ARCH_X86_EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EPT_READ   (1ull << 0)
#define EPT_WRITE  (1ull << 1)
#define EPT_EXEC   (1ull << 2)
#define EPT_RWX    (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_MEMTYPE_SHIFT 3
#define EPT_MEMTYPE_MASK  (7ull << EPT_MEMTYPE_SHIFT)
#define EPT_LARGE    (1ull << 7)
#define EPT_ACCESSED (1ull << 8)
#define EPT_DIRTY    (1ull << 9)
#define EPT_ADDR_MASK 0x000ffffffffff000ull

/* Memory types (SDM Vol. 3A 11.3, table 11-2). */
#define EPT_MEMTYPE_UC 0
#define EPT_MEMTYPE_WB 6

/* EPT pointer (SDM Vol. 3C 25.6.11). */
#define EPTP_MEMTYPE_WB     6ull
#define EPTP_WALK_LENGTH_4  (3ull << 3)
#define EPTP_ENABLE_AD      (1ull << 6)

#define EPT_PAGE_SIZE  4096ull
#define EPT_LARGE_SIZE (2ull << 20)
#define EPT_ENTRIES    512
#define EPT_MAX_GPA    (1ull << 48)

struct ept {
	uint64_t *tables;       /* the run of table frames */
	uint64_t tables_phys;   /* its host-physical address */
	uint64_t table_frames;  /* frames in the run */
	uint64_t used_frames;   /* handed out so far; frame 0 is the PML4 */
	uint64_t mapped_bytes;
};

/* Table frames needed to map [0, bytes) with 4 KiB pages (the worst case). */
uint64_t ept_tables_needed(uint64_t bytes);

/* Starts empty tables in `tables` (table_frames zeroed frames, 4 KiB aligned). */
void ept_init(struct ept *e, uint64_t *tables, uint64_t tables_phys, uint64_t table_frames);

/* Host-physical address of the PML4, for the EPTP. */
uint64_t ept_root(const struct ept *e);

/*
 * Maps [gpa, gpa+bytes) to [hpa, ...) with permissions `perms` (EPT_READ...)
 * and memory type `memtype`. 2 MiB leaves are used where both addresses are
 * aligned and allow_large is set. FERR_INVAL for unaligned or out-of-range
 * addresses or a range already mapped, FERR_NOMEM when the table run is used up.
 */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t bytes, uint64_t perms,
	    unsigned memtype, bool allow_large);

/* Translates gpa; FERR_NOENT when unmapped. perms/memtype may be NULL. */
int ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa, uint64_t *perms,
		  unsigned *memtype);

/* The leaf entry mapping gpa (4 KiB or 2 MiB), or NULL when unmapped. */
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa, uint64_t *page_bytes);

/*
 * Scans the dirty bits of every mapped leaf: for each set bit, sets the bits of
 * its 4 KiB pages in `bitmap` (bit i = guest page i; bitmap_pages bits long;
 * pages past it are ignored) and clears the D bit. Visits only present entries,
 * so the cost is proportional to the mapped pages. Returns how many bitmap bits
 * went from 0 to 1. The caller invalidates the EPT translations afterwards.
 */
uint64_t ept_collect_dirty(struct ept *e, uint64_t *bitmap, uint64_t bitmap_pages);

/* Clears every D bit (start of a dirty log). */
void ept_clear_dirty(struct ept *e);

/* Reads every leaf entry once and returns a checksum: the bandwidth baseline for benchmarks. */
uint64_t ept_read_leaves(const struct ept *e);

#endif
