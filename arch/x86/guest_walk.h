/*
 * A walk of the guest's own page tables (Intel SDM Vol. 3A 4.5 "4-Level Paging and
 * 5-Level Paging", 4.6 "Access Rights", 4.7 "Page-Fault Exceptions"): from a guest-
 * virtual address to a guest-physical one, as the guest's CPU would, so that Ferry can
 * fetch the instruction at the guest's RIP when an MMIO access exits (the exit gives the
 * data's guest-physical address, never the instruction's bytes).
 *
 * Long mode only (4-level, or 5-level with CR4.LA57), with 4 KiB, 2 MiB and 1 GiB pages
 * (1 GiB when the guest's CPUID offers them); with paging off an address is its own
 * translation; legacy 32-bit and PAE paging are FERR_NOTSUP. Checked as the CPU checks:
 * canonical form, present bits, reserved bits (above MAXPHYADDR, PS where it is
 * reserved, NX without EFER.NXE, a large page's low address bits), and the access rights
 * accumulated over the levels (R/W with CR0.WP, U/S, NX, SMEP for fetches; SMAP does
 * not apply to instruction fetches and is not modelled). Accessed and dirty bits are not
 * set: the CPU set them when it fetched the instruction that exited.
 *
 * Guest memory is read only through the caller's callback, which bounds-checks every
 * read (page tables are hostile input: an entry may point anywhere). A page fault gives
 * FERR_NOENT with the #PF error code the CPU would report; a table outside guest RAM
 * FERR_RANGE. Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_GUEST_WALK_H
#define FERRY_ARCH_X86_GUEST_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads len bytes of guest-physical memory at gpa into buf: 0, or an error when any of
 * them is not guest RAM. */
typedef int (*guest_phys_read_fn)(void *ctx, uint64_t gpa, void *buf, size_t len);

struct guest_paging {
	uint64_t cr0, cr3, cr4, efer;
	unsigned maxphyaddr;   /* the guest's CPUID.80000008H:EAX[7:0] (at most 52) */
	bool gb_pages;         /* CPUID.80000001H:EDX[26]: 1 GiB pages */
	bool user;             /* the access is at CPL 3 */
};

enum guest_access {
	GUEST_ACCESS_READ,
	GUEST_ACCESS_WRITE,
	GUEST_ACCESS_FETCH,
};

/* #PF error code bits (SDM 4.7, Figure 4-12) */
#define PF_PRESENT  (1u << 0)   /* a protection violation, not a missing page */
#define PF_WRITE    (1u << 1)
#define PF_USER     (1u << 2)
#define PF_RESERVED (1u << 3)
#define PF_FETCH    (1u << 4)

struct guest_walk_fault {
	uint32_t error_code;   /* for FERR_NOENT */
	unsigned level;        /* 5..1: the table level where the walk stopped */
};

/* Translates gva for one access. Returns 0 with *gpa, FERR_NOENT (a page fault: *fault
 * filled), FERR_RANGE (a non-canonical address, or a table outside guest RAM) or
 * FERR_NOTSUP (legacy paging); *why says which. */
int guest_translate(const struct guest_paging *p, uint64_t gva, enum guest_access access,
		    guest_phys_read_fn read, void *ctx, uint64_t *gpa, struct guest_walk_fault *fault,
		    const char **why);

/* Fetches up to `max` instruction bytes at gva (page by page). Returns how many it got
 * (> 0: a later page that does not translate only shortens the fetch), or an error as
 * guest_translate() for the first byte. */
int guest_fetch(const struct guest_paging *p, uint64_t gva, uint8_t *buf, size_t max,
		guest_phys_read_fn read, void *ctx, struct guest_walk_fault *fault, const char **why);

#endif
