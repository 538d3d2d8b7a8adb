/*
 * This host's own local APIC (Ferry's boot CPU), in xAPIC (MMIO, mapped uncached) or
 * x2APIC (MSR) mode, whichever the firmware left it in (Intel SDM Vol. 3A ch. 11;
 * register offsets in arch/x86/apic.h), and the host's interrupt sources.
 *
 * Ferry runs with interrupts masked and polls; a guest with interrupts on must never
 * find a host interrupt pending that it cannot get past. So host_apic_init() masks what
 * could raise one: both legacy 8259 PICs (Ferry uses none of their inputs; unmasked,
 * they reach the CPU through LINT0) and the local APIC's timer, LINT0, error, thermal
 * and performance-counter entries (LINT1, the NMI input, is left to the firmware). The
 * backends then keep their own: VT-x acknowledges an interrupt on exit and signals EOI
 * (host_apic_eoi), AMD-V takes it in a window after the slice (arch/x86/svm/timer.h),
 * which also rearms the timer entry it uses. Image only.
 */
#ifndef FERRY_ARCH_X86_HOST_APIC_H
#define FERRY_ARCH_X86_HOST_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* Finds and maps the local APIC and masks the host's interrupt sources. FERR_NOTSUP when
 * the APIC is disabled, or the mapping's error; *why says which. Safe to call twice. */
int host_apic_init(const char **why);

bool host_apic_x2apic(void);
/* The physical address of the EOI register in xAPIC mode, 0 in x2APIC mode. */
uint64_t host_apic_eoi_phys(void);

uint32_t host_apic_read(unsigned reg);
void host_apic_write(unsigned reg, uint32_t value);
/* End of interrupt for the one in service. */
void host_apic_eoi(void);

#endif
