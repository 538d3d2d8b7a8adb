/*
 * Ferry's GDT and TSS (SDM Vol. 3A 3.4, 7.7): a 64-bit code segment, a data
 * segment and a TSS whose IST1 stack takes double faults, NMIs and machine
 * checks, so that even a kernel stack overflow is reported. VMX reads the
 * selectors and bases back for the VMCS host-state area.
 */
#ifndef FERRY_ARCH_X86_GDT_H
#define FERRY_ARCH_X86_GDT_H

#include <stdint.h>

#define GDT_SELECTOR_CODE 0x08
#define GDT_SELECTOR_DATA 0x10
#define GDT_SELECTOR_TSS  0x18
#define IST_FAULT_STACK   1

void gdt_init(uint64_t ist_stack_top);
uint64_t gdt_base(void);
uint64_t tss_base(void);

#endif
