/*
 * The IDT (SDM Vol. 3A 6.14): interrupt gates for the 32 exception vectors, and
 * gates for external-interrupt vectors that a user of host interrupts installs
 * (the SVM backend's slice timer: arch/x86/svm/timer.h). Ferry runs with
 * interrupts masked; a vector without a gate is never taken.
 */
#ifndef FERRY_ARCH_X86_IDT_H
#define FERRY_ARCH_X86_IDT_H

#include <stdint.h>

void idt_init(void);
uint64_t idt_base(void);
/* Points vector (32-255) at handler, an interrupt gate at DPL 0 on the current stack. */
void idt_set_interrupt_gate(unsigned vector, void (*handler)(void));

#endif
