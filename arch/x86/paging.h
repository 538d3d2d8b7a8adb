/*
 * Ferry's own page tables (SDM Vol. 3A 4.5, 4-level paging). All physical
 * memory is identity-mapped, writable and not executable, with 2 MiB pages;
 * Ferry's image is mapped with 4 KiB pages by section: code read-only and
 * executable, read-only data read-only, data writable, none both writable and
 * executable. The firmware's runtime-services code stays executable (power-off
 * and reset call into it). Page 0 and the guard page under each stack are not
 * mapped, so null dereferences and stack overflows fault at once.
 */
#ifndef FERRY_ARCH_X86_PAGING_H
#define FERRY_ARCH_X86_PAGING_H

#include <stdint.h>
#include "kernel/boot_info.h"

/* Builds the tables, enables NX and write protection, and loads CR3. */
void paging_init(const struct boot_info *info);

/* Maps [phys, phys+size) uncached (PCD|PWT), for device registers. */
int paging_map_mmio(uint64_t phys, uint64_t size);

/* The page-table root (CR3 value), for the VMCS host-state area. */
uint64_t paging_root(void);

#endif
