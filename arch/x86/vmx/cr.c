/*
 * Control and debug registers under VT-x: which CR0/CR4 bits Ferry owns (the
 * guest/host masks, SDM Vol. 3C 25.6.6), the values the hardware runs with for
 * what the guest sees (the VMX fixed bits, 24.8), the long-mode toggle (EFER.LMA
 * and the IA-32e-mode entry control follow EFER.LME and CR0.PG), and the MOV CR
 * and MOV DR exits (27.1.3, tables 27-3 and 27-4). See vcpu_vmx.h.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/mce.h"
#include "arch/x86/vmx/vmx.h"

#define CR_FIXED_EXEMPT (CR0_PE | CR0_PG)   /* fixed bits an unrestricted guest may clear (26.3.1.1) */
#define LOW32           0xffffffffull   /* CR0, DR6 and DR7 are 32 bits wide; bits 63:32 are reserved */

uint64_t vmx_cr0_host_owned(void)
{
	const struct vmx_controls *c = vmx_controls();
	uint64_t must_be_one = c->cr0_fixed0 & ~CR_FIXED_EXEMPT;
	uint64_t must_be_zero = ~c->cr0_fixed1 & LOW32;

	return must_be_one | must_be_zero | CR0_PG;   /* PG too: Ferry keeps IA-32e mode in step */
}

uint64_t vmx_cr4_host_owned(void)
{
	return ~vmx_guest_cr4_allowed();
}

uint64_t vmx_cr0_real(uint64_t visible)
{
	const struct vmx_controls *c = vmx_controls();
	return (visible | (c->cr0_fixed0 & ~CR_FIXED_EXEMPT)) & c->cr0_fixed1;
}

/*
 * CR4.MCE is on under every guest (a host-owned bit: the guest reads its own
 * value), so that a machine check while it runs is a #MC the exception bitmap
 * turns into an exit, not a shutdown (spec.c).
 */
uint64_t vmx_cr4_real(uint64_t visible)
{
	const struct vmx_controls *c = vmx_controls();
	uint64_t mce = mce_supported() ? CR4_MCE : 0;

	return (visible | c->cr4_fixed0 | mce) & c->cr4_fixed1;
}

void vmx_set_efer(struct vcpu *v, uint64_t efer)
{
	vmwrite(VMCS_GUEST_EFER, efer);
	if (efer & EFER_LMA)
		v->entry |= ENTRY_IA32E_MODE_GUEST;
	else
		v->entry &= ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, v->entry);
}

void vmx_update_long_mode(struct vcpu *v, uint64_t efer, bool paging)
{
	if ((efer & EFER_LME) && paging)
		efer |= EFER_LMA;
	else
		efer &= ~EFER_LMA;
	vmx_set_efer(v, efer);
}

/* MOV to CR0 with the checks the CPU makes (#GP, SDM Vol. 2B MOV CR). */
static enum exit_action mov_to_cr0(struct exit_ctx *x, uint64_t value)
{
	uint64_t efer = vmread(VMCS_GUEST_EFER);
	uint64_t cr4 = vmread(VMCS_CR4_SHADOW);

	if (value >> 32 || ((value & CR0_PG) && !(value & CR0_PE)) ||
	    ((value & CR0_NW) && !(value & CR0_CD)) ||
	    ((value & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE)))
		return vmx_inject_gp();
	uint64_t real = vmx_cr0_real(value);
	bool paging_changes = (vmread(VMCS_GUEST_CR0) ^ real) & CR0_PG;
	vmwrite(VMCS_CR0_SHADOW, value);
	vmwrite(VMCS_GUEST_CR0, real);
	vmx_update_long_mode(x->v, efer, value & CR0_PG);
	if (paging_changes)
		vmx_invvpid(x->v->vpid);
	return EXIT_RESUME;
}

static enum exit_action mov_to_cr4(struct exit_ctx *x, uint64_t value)
{
	if (value & ~vmx_guest_cr4_allowed())
		return vmx_inject_gp();
	if ((vmread(VMCS_GUEST_EFER) & EFER_LMA) && !(value & CR4_PAE))
		return vmx_inject_gp();
	vmwrite(VMCS_CR4_SHADOW, value);
	vmwrite(VMCS_GUEST_CR4, vmx_cr4_real(value));
	vmx_invvpid(x->v->vpid);   /* PGE/PAE/PSE changes flush the TLB */
	return EXIT_RESUME;
}

enum exit_action vmx_on_cr_access(struct exit_ctx *x)
{
	uint64_t q = x->qualification;
	unsigned cr = CR_QUAL_NUMBER(q), type = CR_QUAL_TYPE(q), reg = CR_QUAL_GPR(q);
	enum exit_action a;

	if (type == CR_ACCESS_MOV_TO) {
		uint64_t value = vmx_gpr_read(x->v, reg);
		if (cr == 0)
			a = mov_to_cr0(x, value);
		else if (cr == 4)
			a = mov_to_cr4(x, value);
		else if (cr == 3) {
			vmwrite(VMCS_GUEST_CR3, value);
			vmx_invvpid(x->v->vpid);
			a = EXIT_RESUME;
		} else if (cr == 8) {
			a = EXIT_RESUME;   /* no APIC: the task priority has no effect */
		} else {
			return vmx_inject_ud(x);
		}
	} else if (type == CR_ACCESS_MOV_FROM && (cr == 3 || cr == 8)) {
		vmx_gpr_write(x->v, reg, cr == 3 ? vmread(VMCS_GUEST_CR3) : 0);
		a = EXIT_RESUME;
	} else {
		return vmx_inject_ud(x);
	}
	if (vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)
		return a;   /* a fault: the instruction did not complete */
	vmx_skip_instruction();
	return a;
}

enum exit_action vmx_on_dr_access(struct exit_ctx *x)
{
	/* DR0-3 and DR6 are kept in software only, so a guest cannot set breakpoints on Ferry. */
	uint64_t q = x->qualification;
	unsigned dr = DR_QUAL_NUMBER(q), reg = DR_QUAL_GPR(q);
	uint64_t *slot = dr < 4 ? &x->v->dr[dr] : dr == 6 ? &x->v->dr6 : NULL;

	if (dr == 4 || dr == 5)
		return vmx_inject_ud(x);   /* with CR4.DE clear they alias 6 and 7; keep it simple */
	if (q & DR_QUAL_FROM)
		vmx_gpr_write(x->v, reg, slot ? *slot : vmread(VMCS_GUEST_DR7));
	else {
		uint64_t value = vmx_gpr_read(x->v, reg);
		if (value & ~LOW32 && dr >= 6)
			return vmx_inject_gp();
		if (slot)
			*slot = value;
		else
			vmwrite(VMCS_GUEST_DR7, value);
	}
	vmx_skip_instruction();
	return EXIT_RESUME;
}
