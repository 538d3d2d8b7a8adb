/*
 * What every VT-x exit handler uses on the guest: its general registers (RSP
 * lives in the VMCS, the others in struct vcpu), moving RIP past an emulated
 * instruction, and injecting a hardware exception on the next entry (SDM Vol. 3C
 * 26.6: the VM-entry interruption-information field). The VMCS of the vCPU
 * being handled is the current one.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/vmx/vmx.h"

#define INTERRUPTIBILITY_STI_MOVSS (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)

void vmx_set_rip(uint64_t rip)
{
	vmwrite(VMCS_GUEST_RIP, rip);
	/* An emulated instruction ends blocking by STI or MOV SS, as executing it would. */
	uint64_t intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & INTERRUPTIBILITY_STI_MOVSS)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)INTERRUPTIBILITY_STI_MOVSS);
}

void vmx_skip_instruction(void)
{
	vmx_set_rip(vmread(VMCS_GUEST_RIP) + vmread(VMCS_EXIT_INSTR_LEN));
}

void vmx_inject_exception(unsigned vector, bool has_error, uint32_t error)
{
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT | vector;
	if (has_error) {
		info |= INTR_INFO_DELIVER_ERROR;
		vmwrite(VMCS_ENTRY_EXCEPTION_ERR, error);
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, info);
}

enum exit_action vmx_inject_ud(struct exit_ctx *x)
{
	(void)x;
	vmx_inject_exception(VECTOR_UD, false, 0);
	return EXIT_RESUME;
}

enum exit_action vmx_inject_gp(void)
{
	vmx_inject_exception(VECTOR_GP, true, 0);
	return EXIT_RESUME;
}

uint64_t vmx_gpr_read(struct vcpu *v, unsigned i)
{
	return i == GPR_RSP ? vmread(VMCS_GUEST_RSP) : v->gpr[i];
}

void vmx_gpr_write(struct vcpu *v, unsigned i, uint64_t value)
{
	if (i == GPR_RSP)
		vmwrite(VMCS_GUEST_RSP, value);
	else
		v->gpr[i] = value;
}
