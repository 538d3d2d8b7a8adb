/*
 * x86-64 page-table entries and geometry (Intel SDM Vol. 3A 4.5, Tables 4-15 to 4-20;
 * 5-level paging 4.5.1): the bits portable code needs to build a guest's boot tables (the
 * Linux loader) or walk the guest's own (arch/x86/guest_walk.c). Constants only; portable.
 */
#ifndef FERRY_ARCH_X86_PTE_H
#define FERRY_ARCH_X86_PTE_H

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_USER     (1ull << 2)
#define PTE_ACCESSED (1ull << 5)
#define PTE_DIRTY    (1ull << 6)
#define PTE_LARGE    (1ull << 7)    /* PS: a PDPTE maps 1 GiB, a PDE 2 MiB */
#define PTE_NX       (1ull << 63)   /* execute-disable, with EFER.NXE */
#define PTE_ADDR_MASK 0x000ffffffffff000ull   /* bits 51:12 */

#define PT_ENTRIES      512u
#define PT_INDEX_BITS   9u
#define PT_ENTRY_BYTES  8u
#define PAGE_4K_SHIFT   12u
#define PAGE_2M_SHIFT   21u
#define PAGE_1G_SHIFT   30u
#define PT_PAGE_4K      (1ull << PAGE_4K_SHIFT)
#define PT_PAGE_2M      (1ull << PAGE_2M_SHIFT)
#define PT_PAGE_1G      (1ull << PAGE_1G_SHIFT)

#endif
