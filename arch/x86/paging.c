/* Ferry's page tables; see paging.h. Entry bits: SDM Vol. 3A 4.5, tables 4-15 to 4-20. */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/panic.h"

#include <stdbool.h>

#define IDENTITY_MIN_END (4ull << 30)   /* MMIO lives below 4 GiB: map it all */
#define IDENTITY_MAX_END (512ull << 30) /* one PML4 entry's reach */

#define FLAGS_DATA   (PTE_PRESENT | PTE_WRITABLE | PTE_NX)
#define FLAGS_RODATA (PTE_PRESENT | PTE_NX)
#define FLAGS_CODE   (PTE_PRESENT)
#define FLAGS_RWX    (PTE_PRESENT | PTE_WRITABLE)
#define FLAGS_MMIO   (PTE_PRESENT | PTE_WRITABLE | PTE_NX | PTE_PCD | PTE_PWT)

extern char __ferry_text_start[], __ferry_text_end[];
extern char __ferry_rodata_start[], __ferry_rodata_end[];
extern char __ferry_data_start[], __ferry_data_end[];

static uint64_t *pml4;

static uint64_t *new_table(void)
{
	uint64_t phys;

	if (mem_alloc(&mem_owner_ferry, 1, 1, &phys))
		panic("paging: out of memory for page tables");
	return phys_to_ptr(phys);
}

/* The table an entry points to, created (permissive: leaves decide) when absent. */
static uint64_t *child(uint64_t *entry)
{
	if (!(*entry & PTE_PRESENT))
		*entry = ptr_to_phys(new_table()) | PTE_PRESENT | PTE_WRITABLE;
	return phys_to_ptr(*entry & PTE_ADDR_MASK);
}

static uint64_t *pd_entry(uint64_t va)
{
	uint64_t *pdpt = child(&pml4[(va >> 39) % PT_ENTRIES]);
	uint64_t *pd = child(&pdpt[(va >> 30) % PT_ENTRIES]);

	return &pd[(va >> 21) % PT_ENTRIES];
}

static void map_2m(uint64_t va, uint64_t flags)
{
	*pd_entry(va) = va | flags | PTE_LARGE;
}

/* The 4 KiB entry of va, splitting its 2 MiB page first if needed. */
static uint64_t *pt_entry(uint64_t va)
{
	uint64_t *pde = pd_entry(va);

	if (*pde & PTE_LARGE) {
		uint64_t base = *pde & PTE_ADDR_MASK & ~(PAGE_2M - 1);
		uint64_t flags = *pde & ~PTE_ADDR_MASK & ~PTE_LARGE;
		uint64_t *pt = new_table();
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			pt[i] = (base + i * PAGE_SIZE) | flags;
		*pde = ptr_to_phys(pt) | PTE_PRESENT | PTE_WRITABLE;
	} else if (!(*pde & PTE_PRESENT)) {
		*pde = ptr_to_phys(new_table()) | PTE_PRESENT | PTE_WRITABLE;
	}
	uint64_t *pt = phys_to_ptr(*pde & PTE_ADDR_MASK);
	return &pt[(va >> 12) % PT_ENTRIES];
}

/* Sets the flags of every 4 KiB page in [start, end); flags 0 unmaps. */
static void set_range(uint64_t start, uint64_t end, uint64_t flags)
{
	for (uint64_t va = start & ~(PAGE_SIZE - 1); va < end; va += PAGE_SIZE)
		*pt_entry(va) = flags ? (va | flags) : 0;
}

void paging_init(const struct boot_info *info)
{
	if (!(cpuid(CPUID_LEAF_EXT_FEATURES, 0).edx & CPUID_EXT1_EDX_NX))
		panic("paging: the CPU lacks the NX bit, which Ferry's memory protection needs");

	pml4 = new_table();
	uint64_t end = info->max_phys > IDENTITY_MIN_END ? info->max_phys : IDENTITY_MIN_END;
	end = (end + PAGE_2M - 1) & ~(PAGE_2M - 1);
	if (end > IDENTITY_MAX_END) {
		klog_warn("paging: mapping only the first 512 GiB of physical memory");
		end = IDENTITY_MAX_END;
	}
	for (uint64_t va = 0; va < end; va += PAGE_2M)
		map_2m(va, FLAGS_DATA);

	for (unsigned i = 0; i < info->region_count; i++) {
		const struct boot_region *r = &info->regions[i];
		if (r->type == REGION_RUNTIME_CODE)
			set_range(r->phys, r->phys + r->frames * PAGE_SIZE, FLAGS_RWX);
	}

	/* The whole image read-only first (headers, relocations), then each section as it needs. */
	set_range(info->image_base, info->image_base + info->image_size, FLAGS_RODATA);
	set_range((uint64_t)(uintptr_t)__ferry_text_start, (uint64_t)(uintptr_t)__ferry_text_end, FLAGS_CODE);
	set_range((uint64_t)(uintptr_t)__ferry_rodata_start, (uint64_t)(uintptr_t)__ferry_rodata_end, FLAGS_RODATA);
	set_range((uint64_t)(uintptr_t)__ferry_data_start, (uint64_t)(uintptr_t)__ferry_data_end, FLAGS_DATA);

	set_range(0, PAGE_SIZE, 0);
	set_range(info->stack_base - PAGE_SIZE, info->stack_base, 0);
	set_range(info->ist_stack_base - PAGE_SIZE, info->ist_stack_base, 0);

	wrmsr(MSR_IA32_EFER, rdmsr(MSR_IA32_EFER) | EFER_NXE);
	write_cr3(ptr_to_phys(pml4));
	write_cr0(read_cr0() | CR0_WP);
	klog_info("paging: identity map up to %llu GiB; image code read-only, data no-execute",
		  (unsigned long long)(end >> 30));
}

int paging_map_mmio(uint64_t phys, uint64_t size)
{
	if (!size || phys + size < phys || phys + size > IDENTITY_MAX_END)
		return FERR_RANGE;
	set_range(phys, phys + size, FLAGS_MMIO);
	for (uint64_t va = phys & ~(PAGE_SIZE - 1); va < phys + size; va += PAGE_SIZE)
		invlpg(va);
	return FERR_OK;
}

uint64_t paging_root(void)
{
	return ptr_to_phys(pml4);
}
