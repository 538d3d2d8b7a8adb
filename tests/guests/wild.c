/*
 * wild: maps a GPA far outside its RAM (gpa=0xc0000000 by default) into its own
 * page tables and reads or writes it (mode=read|write), after printing
 * `wild: touching 0x... mode=M`. Ferry must stop the guest (EPT violation);
 * should the access return, it prints `wild: survived ...`.
 */
#include "guest_rt.h"

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PDE_PAGE_2M  (1ull << 7)
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define PAGE_2M (2ull << 20)
#define PML4_SPAN (1ull << 39)

static uint64_t *table_entry(uint64_t table_gpa, uint64_t va, unsigned shift)
{
	return (uint64_t *)(uintptr_t)(table_gpa + 8 * ((va >> shift) & 511));
}

void guest_main(void)
{
	uint64_t gpa = arg_u64("gpa", 0xc0000000ull) & ~7ull;
	int write = arg_is("mode", "write", 0);
	uint64_t cr3;

	if (gpa >= PML4_SPAN) {
		guest_printf("wild error: gpa=0x%lx above 512 GiB\n", (unsigned long)gpa);
		return;
	}
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4e = table_entry(cr3 & PTE_ADDR_MASK, gpa, 39);
	uint64_t *pdpte = table_entry(*pml4e & PTE_ADDR_MASK, gpa, 30);
	if (!(*pdpte & PTE_PRESENT)) {
		/* A fresh page directory in free RAM for the wild gigabyte. */
		uint64_t pd = (boot_params->free_start + GUEST_PAGE_BYTES - 1) & ~(GUEST_PAGE_BYTES - 1);
		memset((void *)(uintptr_t)pd, 0, GUEST_PAGE_BYTES);
		*pdpte = pd | PTE_PRESENT | PTE_WRITABLE;
	}
	uint64_t *pde = table_entry(*pdpte & PTE_ADDR_MASK, gpa, 21);
	*pde = (gpa & ~(PAGE_2M - 1)) | PTE_PRESENT | PTE_WRITABLE | PDE_PAGE_2M;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");

	guest_printf("wild: touching 0x%lx mode=%s\n", (unsigned long)gpa, write ? "write" : "read");
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)gpa;
	if (write) {
		*p = 0x57494c44ull;
		guest_printf("wild: survived write\n");
	} else {
		uint64_t v = *p;
		guest_printf("wild: survived read value=0x%lx\n", (unsigned long)v);
	}
}
