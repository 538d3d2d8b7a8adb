/*
 * VMX operation on the boot CPU (SDM Vol. 3C ch. 24-25): bring-up (CPUID,
 * IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, VMXON), the control words every
 * guest uses (each computed from its capability MSR, never hard-coded), TLB
 * invalidation for EPT and VPIDs, the entry stub, and the backend table
 * (vmx_backend, arch/x86/vcpu_backend.h) that puts the VT-x vCPU behind
 * arch/x86/vcpu.h. Image only.
 */
#ifndef FERRY_ARCH_X86_VMX_H
#define FERRY_ARCH_X86_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vmx/caps.h"
#include "arch/x86/cpu_state.h"

struct vmx_controls {
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t revision;          /* VMCS revision identifier (IA32_VMX_BASIC[30:0]) */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	unsigned preemption_rate;   /* the timer counts down once per 2^rate TSC ticks */
	bool ept_ad, pml, vpid, invept_single, invvpid_single;
	bool load_pat;              /* PAT switched through the VMCS */
	bool interrupt_window;      /* interrupt-window exiting may be set (the Linux platform needs it) */
};

/* The control words in use (valid once VMX is on). */
const struct vmx_controls *vmx_controls(void);
/* CR4 bits a guest may set: Ferry's policy (cpuid_guest.h) within what VMX allows. */
uint64_t vmx_guest_cr4_allowed(void);

/* This CPU's MAXPHYADDR (CPUID.80000008H:EAX[7:0]), which guests see too. */
unsigned vmx_phys_bits(void);

void vmx_invept(uint64_t eptp);
void vmx_invvpid(uint16_t vpid);

/*
 * The entry stub (entry.S): loads gpr (GPR_* order, RSP ignored), enters with
 * VMLAUNCH or VMRESUME, saves gpr on exit. 0 after a VM exit, 1 when
 * VMLAUNCH/VMRESUME failed.
 */
int vmx_enter(uint64_t *gpr, int launched);

#endif
