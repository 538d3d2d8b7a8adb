/*
 * The current VMCS (SDM Vol. 3C 24.1): VMPTRLD makes one current, VMCLEAR
 * flushes one to memory and makes it inactive. Ferry remembers which one is
 * current, so that vmx_vcpu_load() costs nothing when the vCPU's VMCS already is.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "kernel/panic.h"

static uint64_t current_vmcs;          /* physical address of the current VMCS, 0 for none */

void vmx_vmptrld(uint64_t phys)
{
	bool ok;

	__asm__ volatile("vmptrld %1; seta %0" : "=qm"(ok) : "m"(phys) : "cc", "memory");
	if (!ok)
		panic("vmptrld 0x%llx failed", (unsigned long long)phys);
	current_vmcs = phys;
}

void vmx_vmclear(uint64_t phys)
{
	__asm__ volatile("vmclear %0" : : "m"(phys) : "cc", "memory");
	if (current_vmcs == phys)
		current_vmcs = 0;
}

void vmx_vcpu_load(struct vcpu *v)
{
	if (current_vmcs != v->vmcs_phys)
		vmx_vmptrld(v->vmcs_phys);
}
