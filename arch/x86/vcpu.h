/*
 * One virtual CPU: its VMCS and what the VMCS does not hold (GPRs, CR2, the
 * debug registers, the SYSCALL MSRs and KERNEL_GS_BASE, the FXSAVE image),
 * set-up of the VMCS by area (controls, host state, guest state), running it
 * for a slice, and moving its state in and out as struct x86_cpu_state.
 * Image only.
 */
#ifndef FERRY_ARCH_X86_VCPU_H
#define FERRY_ARCH_X86_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/frame_alloc.h"
#include "kernel/vm/loader_elf.h"
#include "arch/x86/cpu_state.h"

struct vcpu {
	uint64_t gpr[GPR_COUNT];    /* enum vm_gpr order; RSP lives in the VMCS */
	uint8_t fxsave[FXSAVE_BYTES] __attribute__((aligned(16)));
	uint64_t cr2, dr[4], dr6;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t vmcs_phys;
	uint64_t pml_phys;          /* 0 without PML */
	uint64_t eptp;
	uint64_t tsc_offset;        /* guest TSC = host TSC + tsc_offset */
	uint32_t proc2;             /* secondary controls now in the VMCS (PML toggles) */
	uint32_t entry;             /* VM-entry controls now in the VMCS (IA-32e mode toggles) */
	uint16_t vpid;
	bool launched;
};

/*
 * Allocates the VMCS (charged to owner), fills controls and host state, and a
 * harmless guest state (to be replaced by vcpu_set_entry or vcpu_set_state).
 * ept_root is the PML4's physical address; pml_phys a zeroed page or 0.
 */
int vcpu_init(struct vcpu *v, struct frame_owner *owner, uint16_t vpid, uint64_t ept_root,
	      uint64_t pml_phys);
/* VMCLEARs and frees the VMCS. */
void vcpu_release(struct vcpu *v, struct frame_owner *owner);

/* Makes v's VMCS current (VMPTRLD when another one is). */
void vcpu_load(struct vcpu *v);

/* The guest state a fresh guest starts with (from the loader). */
void vcpu_set_entry(struct vcpu *v, const struct guest_entry_state *e);

void vcpu_get_state(struct vcpu *v, struct x86_cpu_state *out);
/* Writes a validated state into the VMCS and the vcpu. */
void vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s);

uint64_t vcpu_guest_tsc(const struct vcpu *v);
void vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc);

/* PML on or off (dirty logging); resets the PML index. */
void vcpu_set_pml(struct vcpu *v, bool on);
/* Copies the logged GPAs out and resets the index; returns how many. */
unsigned vcpu_drain_pml(struct vcpu *v, uint64_t *gpas, unsigned max);

/* Switches the FPU and the MSRs VMX does not switch to this vcpu (before entry). */
void vcpu_switch_to(struct vcpu *v);
/* Forgets v as the owner of the FPU/MSRs (it is being destroyed). */
void vcpu_forget(struct vcpu *v);

#endif
