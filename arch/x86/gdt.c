/* GDT and TSS; see gdt.h. Descriptor formats: SDM Vol. 3A 3.4.5 and 7.2.3. */
#include "arch/x86/gdt.h"

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

/* Segment descriptor bits (SDM Vol. 3A 3.4.5). */
#define SEG_ACCESSED   (1ull << 40)
#define SEG_WRITABLE   (1ull << 41)   /* data: writable; code: readable */
#define SEG_EXECUTABLE (1ull << 43)
#define SEG_CODE_DATA  (1ull << 44)   /* S: code or data, not system */
#define SEG_PRESENT    (1ull << 47)
#define SEG_LONG_MODE  (1ull << 53)   /* L */
#define SEG_GRANULAR   (1ull << 55)
#define SEG_LIMIT_MAX  (0xffffull | (0xfull << 48))
#define SYS_TYPE_TSS_AVAILABLE (9ull << 40)

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
	uint64_t common = SEG_ACCESSED | SEG_WRITABLE | SEG_CODE_DATA | SEG_PRESENT |
			  SEG_GRANULAR | SEG_LIMIT_MAX;

	gdt[0] = 0;
	gdt[GDT_SELECTOR_CODE / 8] = common | SEG_EXECUTABLE | SEG_LONG_MODE;
	gdt[GDT_SELECTOR_DATA / 8] = common;

	tss.ist[IST_FAULT_STACK - 1] = ist_stack_top & ~0xfull;
	tss.iomap_base = sizeof(tss);  /* no I/O permission bitmap */
	uint64_t base = tss_base(), limit = sizeof(tss) - 1;
	gdt[GDT_SELECTOR_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
				    SYS_TYPE_TSS_AVAILABLE | SEG_PRESENT |
				    ((base >> 24) & 0xff) << 56;
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
