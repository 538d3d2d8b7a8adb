/*
 * The image's side of arch/x86/spec_ctrl.h: this CPU's enumerations read once,
 * the policy decided from them, and what both backends do around every VM entry
 * and exit (IBPB between guests, the guest's IA32_SPEC_CTRL, the L1D flush; VERW
 * and the RSB refill are in the entry stubs, spec_asm.h). Also what `info` shows
 * of it. Image only.
 */
#ifndef FERRY_ARCH_X86_SPEC_HW_H
#define FERRY_ARCH_X86_SPEC_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/spec_ctrl.h"

/* Reads the enumerations and decides (once; every other call does it if needed). */
void spec_hw_init(void);
const struct spec_caps *spec_hw_caps(void);
const struct spec_policy *spec_hw_policy(void);

/*
 * Just before entering the vCPU `who` with guest state g: IBPB when the last
 * vCPU entered was another guest's, the guest's IA32_SPEC_CTRL when it differs
 * from Ferry's, the L1D flush where the policy wants it.
 */
void spec_hw_enter(const struct spec_guest *g, const void *who);
/* Right after the exit: Ferry's IA32_SPEC_CTRL back. */
void spec_hw_exit(const struct spec_guest *g);

/* IBPB now; an L1D flush now (where the CPU has the command). */
void spec_hw_ibpb(void);
void spec_hw_l1d_flush(void);

/*
 * A guest's RDMSR (write false) or WRMSR of msr, for both backends: the
 * speculation-control MSRs by spec_guest_rdmsr/wrmsr, with the IBPB or L1D
 * flush a write asks done here. SPEC_MSR_NOT_MINE, SPEC_MSR_DONE (*value holds
 * what a read returns) or SPEC_MSR_GP.
 */
enum spec_msr_result spec_hw_guest_msr(const struct cpu_features *mask, struct spec_guest *g,
				       uint32_t msr, bool write, uint64_t *value);

/* One line for `info` and the log: "spec_ctrl=yes ibpb_between_guests=yes ...". */
void spec_hw_describe(char *buf, size_t cap);

/* Read by the entry stubs (spec_asm.h): nonzero when VERW runs before every VM entry. */
extern uint8_t spec_verw_on_entry;
extern const uint16_t spec_verw_selector;

#endif
