/*
 * Speculative-execution side channels between guests and Ferry, decided from
 * what the CPU enumerates, as KVM and Xen do: CPUID.(EAX=7,ECX=0):EDX and
 * IA32_ARCH_CAPABILITIES on Intel (SDM Vol. 4 table 2-2; Intel's "Speculative
 * Execution Side Channel Mitigations" and "Deep Dive" papers for L1TF and MDS),
 * CPUID Fn8000_0008_EBX on AMD (AMD's "Software Techniques for Managing
 * Speculation on AMD Processors"; AMD parts are not affected by L1TF, MDS or
 * TAA, which AMD enumerates by not enumerating them).
 *
 * What Ferry does with it (spec_decide):
 *  - IBPB (IA32_PRED_CMD) when the CPU passes from one guest's vCPU to another's,
 *    so that one guest cannot train the branch predictor for the next;
 *  - on Intel parts affected by L1TF (no RDCL_NO) that need it (no
 *    SKIP_L1DFL_VMENTRY): an L1D flush (IA32_FLUSH_CMD) before every VM entry;
 *  - on parts affected by MDS or TAA that have MD_CLEAR: VERW before every VM
 *    entry, unless the L1D flush (which clears the same buffers) runs anyway;
 *  - after every VM exit, before any RET: the return stack buffer refilled with
 *    harmless entries (spec_asm.h), so that guest-planted returns are not
 *    predicted in Ferry;
 *  - guests see the controls the host has (IBRS/IBPB, STIBP, SSBD, MD_CLEAR,
 *    L1D_FLUSH in CPUID.7.EDX; on AMD synthesized from Fn8000_0008_EBX, as KVM
 *    does), and IA32_SPEC_CTRL, IA32_PRED_CMD and IA32_FLUSH_CMD behave as the
 *    CPU shown would: SPEC_CTRL is the guest's own (switched on entry and exit,
 *    saved and migrated), PRED_CMD and FLUSH_CMD act on the real CPU.
 * IA32_ARCH_CAPABILITIES is not shown: its bits describe one host, a migrated
 * guest would keep trusting them elsewhere; without it a guest assumes the worst.
 *
 * This file is portable (the decision and the guest's MSR rules, unit tested
 * in tests/unit/test_spec_ctrl.c); spec_hw.c does the image's probing and actions.
 */
#ifndef FERRY_ARCH_X86_SPEC_CTRL_H
#define FERRY_ARCH_X86_SPEC_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/x86.h"

/* What the CPU enumerates. */
struct spec_caps {
	bool amd;               /* AMD (or Hygon): Fn8000_0008 speaks; not affected by L1TF, MDS, TAA */
	uint32_t leaf7_edx;     /* CPUID.(7,0).EDX, 0 without leaf 7 */
	uint32_t ext8_ebx;      /* CPUID Fn8000_0008_EBX, 0 without it */
	uint64_t arch_caps;     /* IA32_ARCH_CAPABILITIES, 0 unless CPUID.7.EDX[29] */
};

/* What Ferry does about it. */
struct spec_policy {
	bool ibpb_between_guests;
	bool l1d_flush_on_entry;
	bool l1tf_unmitigated;      /* affected, but the CPU has no FLUSH_CMD (microcode too old) */
	bool verw_on_entry;
	bool rsb_fill_on_exit;      /* always: no enumeration says the RSB cannot hold guest entries */
	uint64_t spec_ctrl_bits;    /* the IA32_SPEC_CTRL bits the CPU has (0: no such MSR) */
	uint32_t guest_leaf7_edx;   /* the speculation bits a guest may be shown in CPUID.7.EDX */
};

void spec_decide(const struct spec_caps *caps, struct spec_policy *out);

/* The IA32_SPEC_CTRL bits a guest shown `mask` may set (0: the MSR is #GP for it). */
uint64_t spec_guest_spec_ctrl_bits(const struct cpu_features *mask);

/* A guest's own speculation state: what its vCPU holds and a snapshot carries. */
struct spec_guest {
	uint64_t spec_ctrl;
};

enum spec_msr_result {
	SPEC_MSR_NOT_MINE,    /* not a speculation-control MSR: the backend goes on */
	SPEC_MSR_DONE,        /* handled: the instruction completes */
	SPEC_MSR_GP,          /* #GP, as the CPU the guest was shown would raise */
	SPEC_MSR_DO_IBPB,     /* handled; the backend must issue IBPB now (spec_hw_ibpb) */
	SPEC_MSR_DO_L1D_FLUSH,/* handled; the backend must flush the L1D now (spec_hw_l1d_flush) */
};

/* RDMSR/WRMSR of msr by a guest shown `mask`, on its state g. */
enum spec_msr_result spec_guest_rdmsr(const struct cpu_features *mask, const struct spec_guest *g,
				      uint32_t msr, uint64_t *value);
enum spec_msr_result spec_guest_wrmsr(const struct cpu_features *mask, struct spec_guest *g,
				      uint32_t msr, uint64_t value);

#endif
