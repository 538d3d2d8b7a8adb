/*
 * x86-64 page-table geometry (Intel SDM Vol. 3A 4.5; 5-level paging 4.5.1): index
 * widths and page sizes for portable code that builds a guest's boot tables (the Linux
 * loader) or walks the guest's own (arch/x86/guest_walk.c). The entry bits (PTE_*) are
 * x86.h's, included here. Constants only; portable.
 */
#ifndef FERRY_ARCH_X86_PTE_H
#define FERRY_ARCH_X86_PTE_H

#include "arch/x86/x86.h"

#define PT_INDEX_BITS   9u
#define PT_ENTRY_BYTES  8u
#define PAGE_4K_SHIFT   12u
#define PAGE_2M_SHIFT   21u
#define PAGE_1G_SHIFT   30u
#define PT_PAGE_4K      (1ull << PAGE_4K_SHIFT)
#define PT_PAGE_2M      (1ull << PAGE_2M_SHIFT)
#define PT_PAGE_1G      (1ull << PAGE_1G_SHIFT)

#endif
