/* The IDT; see idt.h. Gate format: SDM Vol. 3A 6.14.1. */
#include "arch/x86/idt.h"
#include "arch/x86/gdt.h"
#include "arch/x86/x86.h"

#include <stdbool.h>
#include <stddef.h>

#define IDT_ENTRIES 256

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

struct __attribute__((packed)) idt_pointer {
	uint16_t limit;
	uint64_t base;
};

extern const int64_t isr_stub_offsets[VECTOR_EXCEPTIONS];

static struct idt_gate idt[IDT_ENTRIES];

uint64_t idt_base(void)
{
	return (uint64_t)(uintptr_t)idt;
}

static uint8_t ist_for(unsigned vector)
{
	bool own_stack = vector == VECTOR_NMI || vector == VECTOR_DF || vector == VECTOR_MC;

	return own_stack ? IST_FAULT_STACK : 0;
}

static void set_gate(unsigned vector, uint64_t handler, uint8_t ist)
{
	idt[vector] = (struct idt_gate){
		.offset_low = handler & 0xffff,
		.selector = GDT_SELECTOR_CODE,
		.ist = ist,
		.type_attr = AR_P | SYS_TYPE_INTERRUPT_GATE,   /* the access byte; DPL 0 */
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_high = (uint32_t)(handler >> 32),
	};
}

void idt_set_interrupt_gate(unsigned vector, void (*handler)(void))
{
	if (vector >= VECTOR_EXCEPTIONS && vector < IDT_ENTRIES)
		set_gate(vector, (uint64_t)(uintptr_t)handler, 0);
}

void idt_init(void)
{
	uint64_t table = (uint64_t)(uintptr_t)isr_stub_offsets;

	for (unsigned v = 0; v < VECTOR_EXCEPTIONS; v++)
		set_gate(v, table + (uint64_t)isr_stub_offsets[v], ist_for(v));
	struct idt_pointer ptr = { sizeof(idt) - 1, idt_base() };
	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}
