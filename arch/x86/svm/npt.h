/*
 * Nested page tables (AMD64 APM Vol. 2, 15.25): guest RAM, one run of host
 * frames, mapped at guest-physical 0 in the standard x86-64 4-level format,
 * with the dirty-page tracking that live migration and `dirty` use, in two
 * modes: the D bits the CPU sets in the nested leaves (npt-ad), and
 * write-protection (npt-wp: leaves read-only, the first write to a page in a
 * round is a nested page fault that logs the page and makes it writable).
 *
 * Portable (image and host). The tables live in one contiguous run of frames
 * the caller provides (`tables`, host-physical `tables_phys`) and are laid out
 * in order: the PML4, the PDPTs, the page directories, then the page tables.
 * Since guest RAM is one run from GPA 0, the page tables form one flat array
 * of leaves indexed by guest page number, and the page directories one flat
 * array indexed by 2 MiB region: the dirty scan is a linear pass over the
 * leaves, with no walk and no pointer to follow.
 *
 * Large pages: every page table is built and kept current, and a 2 MiB region
 * whose host address is 2 MiB aligned can be mapped by one large leaf in its
 * directory entry instead (npt_use_large_pages). Dirty tracking needs 4 KiB
 * leaves, so that a write marks one page and not 512: tracking switches the
 * tables to 4 KiB leaves for its duration (docs/svm.md, "Nested paging").
 *
 * Entry format (APM Vol. 2, 5.3.3 and 15.25.5): P, R/W, U/S (nested walks are
 * user accesses, so every entry sets it), A (bit 5), D (bit 6, leaves), PS
 * (bit 7, a 2 MiB leaf in a directory), the address in bits 51:12. Callers flush
 * the guest's TLB (TLB_CONTROL) after any change that removes a permission or
 * clears a D bit.
 */
#ifndef FERRY_ARCH_X86_SVM_NPT_H
#define FERRY_ARCH_X86_SVM_NPT_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/x86.h"
#include "kernel/lib/units.h"

#define NPT_MAX_GPA    (1ull << 48)

struct npt {
	uint64_t *tables;       /* the run of table frames; frame 0 is the PML4 */
	uint64_t tables_phys;   /* its host-physical address */
	uint64_t ram_phys;      /* guest page g is host frame ram_phys + g * 4 KiB */
	uint64_t pages;         /* guest pages mapped: GPA [0, pages * 4 KiB) */
	uint64_t *dirs;         /* directory entries, one per 2 MiB region */
	uint64_t *leaves;       /* page-table entries, one per guest page */
	uint64_t *wp_log;       /* npt-wp: pages written this round (NULL when not tracking) */
	bool large;             /* 2 MiB leaves in use where aligned */
};

/* Table frames npt_build needs for ram_bytes of guest RAM. */
uint64_t npt_tables_needed(uint64_t ram_bytes);

/*
 * Maps GPA [0, ram_bytes) to [ram_phys, ...) with 4 KiB leaves, read/write.
 * `tables` is table_frames frames, at least npt_tables_needed(ram_bytes);
 * their old contents do not matter. FERR_INVAL for sizes or addresses that are
 * not page aligned, RAM beyond the 48-bit guest-physical space or an address
 * beyond 52 bits; FERR_NOMEM when the run is too small.
 */
int npt_build(struct npt *n, uint64_t *tables, uint64_t tables_phys, uint64_t table_frames,
	      uint64_t ram_phys, uint64_t ram_bytes);

/* Host-physical address of the PML4, for N_CR3. */
uint64_t npt_root(const struct npt *n);

/* 2 MiB leaves where both addresses allow them (on), or 4 KiB leaves everywhere (off). */
void npt_use_large_pages(struct npt *n, bool on);

/* Translates gpa; FERR_NOENT outside RAM. writable and page_bytes may be NULL. */
int npt_translate(const struct npt *n, uint64_t gpa, uint64_t *hpa, bool *writable,
		  uint64_t *page_bytes);

/* ---- npt-ad: the D bits ------------------------------------------------------------- */

/*
 * ORs the pages whose D bit is set into bitmap (bit g = guest page g; n->pages
 * bits) and clears those bits. A dirty 2 MiB leaf marks its 512 pages. Returns
 * how many bitmap bits went from 0 to 1.
 */
uint64_t npt_collect_dirty(struct npt *n, uint64_t *bitmap);

/* Clears every D bit (the start of a log). */
void npt_clear_dirty(struct npt *n);

/* ---- npt-wp: write protection --------------------------------------------------------- */

/* Starts a log in `log` (n->pages bits, cleared here): every leaf becomes read-only. Needs 4 KiB leaves. */
void npt_wp_start(struct npt *n, uint64_t *log);

enum npt_wp_fault {
	NPT_WP_LOGGED,      /* the page was read-only for tracking: logged and writable again */
	NPT_WP_STALE,       /* the page is writable already: a stale translation, flush and retry */
	NPT_WP_NOT_TRACKED, /* outside guest RAM, or no log running: a real fault */
};

/* A write fault at gpa (a nested page fault with P and W set). */
enum npt_wp_fault npt_wp_fault(struct npt *n, uint64_t gpa);

/* ORs the logged pages into bitmap, makes them read-only again and clears the log; returns the newly set bits. */
uint64_t npt_wp_collect(struct npt *n, uint64_t *bitmap);

/* Ends the log: every leaf writable again. */
void npt_wp_stop(struct npt *n);

/* Reads every leaf once and returns a checksum: the bandwidth baseline for benchmarks. */
uint64_t npt_read_leaves(const struct npt *n);

#endif
