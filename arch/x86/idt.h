/* The IDT (SDM Vol. 3A 6.14): interrupt gates for the 32 exception vectors. */
#ifndef FERRY_ARCH_X86_IDT_H
#define FERRY_ARCH_X86_IDT_H

#include <stdint.h>

void idt_init(void);
uint64_t idt_base(void);

#endif
