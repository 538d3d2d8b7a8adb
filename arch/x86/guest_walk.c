/* The guest page-table walker (contract in guest_walk.h; SDM Vol. 3A 4.5-4.7). */
#include "arch/x86/guest_walk.h"

#include "arch/x86/pte.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"

#define LEVELS_4    4u
#define LEVELS_5    5u
#define MAX_PHYADDR 52u
#define PDPT_LEVEL  3u   /* PS here maps 1 GiB */
#define PD_LEVEL    2u   /* PS here maps 2 MiB */
#define INDEX_MASK  (PT_ENTRIES - 1)

static int refuse(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* Canonical: the bits above the top translated bit copy it (SDM 3.3.7.1). */
static bool canonical(uint64_t gva, unsigned levels)
{
	unsigned bits = PAGE_4K_SHIFT + PT_INDEX_BITS * levels;   /* 48 or 57 */
	int64_t shifted = (int64_t)(gva << (64 - bits)) >> (64 - bits);

	return (uint64_t)shifted == gva;
}

static int page_fault(struct guest_walk_fault *fault, const char **why, uint32_t code,
		      unsigned level, const char *reason)
{
	if (fault) {
		fault->error_code = code;
		fault->level = level;
	}
	return refuse(why, reason, FERR_NOENT);
}

int guest_translate(const struct guest_paging *p, uint64_t gva, enum guest_access access,
		    guest_phys_read_fn read, void *ctx, uint64_t *gpa, struct guest_walk_fault *fault,
		    const char **why)
{
	unsigned levels = (p->cr4 & CR4_LA57) ? LEVELS_5 : LEVELS_4;
	unsigned maxphy = p->maxphyaddr && p->maxphyaddr <= MAX_PHYADDR ? p->maxphyaddr : MAX_PHYADDR;
	uint64_t addr_mask = PTE_ADDR_MASK & ((1ull << maxphy) - 1);
	bool nxe = p->efer & EFER_NXE;
	uint32_t code = (access == GUEST_ACCESS_WRITE ? PF_WRITE : 0) | (p->user ? PF_USER : 0) |
			(access == GUEST_ACCESS_FETCH && (nxe || (p->cr4 & CR4_SMEP)) ? PF_FETCH : 0);
	bool writable = true, user = true, nx = false;

	if (!(p->cr0 & CR0_PG)) {
		*gpa = gva;   /* paging off: linear is physical */
		return 0;
	}
	if (!(p->efer & EFER_LMA) || !(p->cr4 & CR4_PAE))
		return refuse(why, "guest paging: legacy (non-long-mode) paging is not walked", FERR_NOTSUP);
	if (!canonical(gva, levels))
		return refuse(why, "guest paging: non-canonical address", FERR_RANGE);

	/* Bits that must be zero in every entry: physical address bits at or above
	 * MAXPHYADDR, and NX without EFER.NXE (SDM Table 4-20 and the like). */
	uint64_t reserved = (PTE_ADDR_MASK & ~addr_mask) | (nxe ? 0 : PTE_NX);
	uint64_t table = p->cr3 & addr_mask;

	for (unsigned level = levels; level >= 1; level--) {
		unsigned shift = PAGE_4K_SHIFT + PT_INDEX_BITS * (level - 1);
		uint64_t index = (gva >> shift) & INDEX_MASK;
		uint8_t raw[PT_ENTRY_BYTES];
		uint64_t e = 0;

		if (read(ctx, table + index * PT_ENTRY_BYTES, raw, sizeof(raw)) != 0)
			return refuse(why, "guest paging: a page table outside guest RAM", FERR_RANGE);
		for (int i = PT_ENTRY_BYTES - 1; i >= 0; i--)
			e = e << 8 | raw[i];
		if (!(e & PTE_PRESENT))
			return page_fault(fault, why, code, level, "guest paging: not present");

		bool large = (e & PTE_LARGE) && level <= PDPT_LEVEL && level > 1;
		uint64_t bad = reserved;
		if (level > PDPT_LEVEL && (e & PTE_LARGE))
			bad |= PTE_LARGE;   /* PS is reserved in PML4Es and PML5Es */
		if (level == PDPT_LEVEL && large && !p->gb_pages)
			bad |= PTE_LARGE;
		if (large)   /* a large page's address bits below its size are reserved (bit 12 is PAT) */
			bad |= ((1ull << shift) - 1) & PTE_ADDR_MASK & ~PT_PAGE_4K;
		if (e & bad)
			return page_fault(fault, why, code | PF_PRESENT | PF_RESERVED, level,
					  "guest paging: reserved bit set");

		writable = writable && (e & PTE_WRITABLE);
		user = user && (e & PTE_USER);
		nx = nx || (nxe && (e & PTE_NX));

		if (level == 1 || large) {
			uint64_t page_mask = (1ull << shift) - 1;
			uint64_t frame = e & addr_mask & ~page_mask;

			if (p->user && !user)
				return page_fault(fault, why, code | PF_PRESENT, level,
						  "guest paging: a supervisor page from user mode");
			if (access == GUEST_ACCESS_WRITE && !writable && (p->user || (p->cr0 & CR0_WP)))
				return page_fault(fault, why, code | PF_PRESENT, level,
						  "guest paging: write to a read-only page");
			if (access == GUEST_ACCESS_FETCH && nx)
				return page_fault(fault, why, code | PF_PRESENT, level,
						  "guest paging: fetch from a no-execute page");
			if (access == GUEST_ACCESS_FETCH && !p->user && user && (p->cr4 & CR4_SMEP))
				return page_fault(fault, why, code | PF_PRESENT, level,
						  "guest paging: supervisor fetch from a user page (SMEP)");
			*gpa = frame | (gva & page_mask);
			return 0;
		}
		table = e & addr_mask;
	}
	return refuse(why, "guest paging: walk ended without a page", FERR_RANGE);   /* not reached */
}

int guest_fetch(const struct guest_paging *p, uint64_t gva, uint8_t *buf, size_t max,
		guest_phys_read_fn read, void *ctx, struct guest_walk_fault *fault, const char **why)
{
	size_t got = 0;

	while (got < max) {
		uint64_t at = gva + got, gpa;
		size_t chunk = PT_PAGE_4K - (at & (PT_PAGE_4K - 1));
		int err = guest_translate(p, at, GUEST_ACCESS_FETCH, read, ctx, &gpa, fault, why);

		if (chunk > max - got)
			chunk = max - got;
		if (err == 0 && read(ctx, gpa, buf + got, chunk) != 0)
			err = refuse(why, "guest paging: instruction outside guest RAM", FERR_RANGE);
		if (err) {
			if (got)
				break;   /* the instruction may end before the page that failed */
			return err;
		}
		got += chunk;
	}
	return (int)got;
}
