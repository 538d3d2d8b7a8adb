/* GDT and TSS; see gdt.h. Descriptor formats: SDM Vol. 3A 3.4.5 and 7.2.3. */
#include "arch/x86/gdt.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/x86.h"

#include <stddef.h>

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

struct __attribute__((packed)) descriptor_pointer {
	uint16_t limit;
	uint64_t base;
};

/* Access rights (arch/x86/x86.h): flat 64-bit code and flat data at DPL 0, an available TSS. */
#define CODE_ACCESS (SEG_TYPE_CODE_XR_ACCESSED | AR_S | AR_P | AR_L | AR_G)
#define DATA_ACCESS (SEG_TYPE_DATA_RW_ACCESSED | AR_S | AR_P | AR_G)
#define TSS_ACCESS  (SYS_TYPE_TSS64_AVAILABLE | AR_P)

#define GDT_ENTRIES 5   /* null, code, data, TSS (two slots) */

static uint64_t gdt[GDT_ENTRIES];
static struct tss64 tss;

uint64_t gdt_base(void)
{
	return (uint64_t)(uintptr_t)gdt;
}

uint64_t tss_base(void)
{
	return (uint64_t)(uintptr_t)&tss;
}

void gdt_init(uint64_t ist_stack_top)
{
	gdt[0] = 0;
	gdt[GDT_SELECTOR_CODE / 8] = x86_segment_descriptor(0, DESC_LIMIT_FLAT, CODE_ACCESS);
	gdt[GDT_SELECTOR_DATA / 8] = x86_segment_descriptor(0, DESC_LIMIT_FLAT, DATA_ACCESS);

	tss.ist[IST_FAULT_STACK - 1] = ist_stack_top & ~0xfull;
	tss.iomap_base = sizeof(tss);  /* no I/O permission bitmap */
	uint64_t base = tss_base();
	gdt[GDT_SELECTOR_TSS / 8] = x86_segment_descriptor((uint32_t)base, sizeof(tss) - 1, TSS_ACCESS);
	gdt[GDT_SELECTOR_TSS / 8 + 1] = base >> 32;

	struct descriptor_pointer ptr = { sizeof(gdt) - 1, gdt_base() };
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movw %w2, %%ax\n\t"
		"movw %%ax, %%ds\n\t"
		"movw %%ax, %%es\n\t"
		"movw %%ax, %%ss\n\t"
		"movw %%ax, %%fs\n\t"
		"movw %%ax, %%gs\n\t"
		"movw %w3, %%ax\n\t"
		"ltr %%ax"
		:
		: "m"(ptr), "i"(GDT_SELECTOR_CODE), "i"(GDT_SELECTOR_DATA), "i"(GDT_SELECTOR_TSS)
		: "rax", "memory");
}
