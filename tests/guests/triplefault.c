/*
 * triplefault: loads an empty IDT (limit 0) and executes ud2: #UD cannot be
 * delivered, nor the #GP/#DF that follow, so the CPU triple-faults (Ferry sees a
 * triple-fault VM exit and stops the guest).
 */
#include "guest_rt.h"

struct __attribute__((packed)) idt_pointer {
	uint16_t limit;
	uint64_t base;
};

void guest_main(void)
{
	static const struct idt_pointer empty = { 0, 0 };

	guest_printf("triplefault: ud2 with an empty IDT\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
	guest_printf("triplefault: survived\n");
}
