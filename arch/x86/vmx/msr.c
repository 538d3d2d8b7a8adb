/*
 * RDMSR and WRMSR exits (every MSR access exits: no MSR bitmaps). The MSRs a
 * guest of Ferry's may use are emulated here, from the VMCS guest-state fields
 * or struct vcpu; any other MSR, and any value the CPU would refuse, gets #GP
 * (docs/vmx.md, "Exits"). MSR numbers: SDM Vol. 4, table 2-2 (arch/x86/x86.h).
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/vmx/vmx.h"

#define FEATURE_CONTROL_LOCKED_VMX_OFF FEATURE_CONTROL_LOCK   /* what a guest without VMX sees */
#define EFER_GUEST_WRITABLE            (EFER_SCE | EFER_LME | EFER_NXE)
#define MSR_LOW32                      0xffffffffull

static bool read_msr(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_TSC:             *value = vmx_vcpu_guest_tsc(v); return true;
	case MSR_IA32_FEATURE_CONTROL: *value = FEATURE_CONTROL_LOCKED_VMX_OFF; return true;
	case MSR_IA32_SYSENTER_CS:     *value = vmread(VMCS_GUEST_SYSENTER_CS); return true;
	case MSR_IA32_SYSENTER_ESP:    *value = vmread(VMCS_GUEST_SYSENTER_ESP); return true;
	case MSR_IA32_SYSENTER_EIP:    *value = vmread(VMCS_GUEST_SYSENTER_EIP); return true;
	case MSR_IA32_MISC_ENABLE:     *value = MISC_ENABLE_FAST_STRINGS; return true;
	case MSR_IA32_PAT:             *value = vmread(VMCS_GUEST_PAT); return vmx_controls()->load_pat;
	case MSR_IA32_EFER:            *value = vmread(VMCS_GUEST_EFER); return true;
	case MSR_STAR:                 *value = v->star; return true;
	case MSR_LSTAR:                *value = v->lstar; return true;
	case MSR_CSTAR:                *value = v->cstar; return true;
	case MSR_SFMASK:               *value = v->sfmask; return true;
	case MSR_FS_BASE:              *value = vmread(VMCS_GUEST_ES_BASE + 2 * SEG_FS); return true;
	case MSR_GS_BASE:              *value = vmread(VMCS_GUEST_ES_BASE + 2 * SEG_GS); return true;
	case MSR_KERNEL_GS_BASE:       *value = rdmsr(MSR_KERNEL_GS_BASE); return true;  /* this vCPU's, loaded */
	default:                       return false;
	}
}

/* EFER: only SCE, LME and NXE are the guest's to set; LMA follows LME and paging. */
static bool write_efer(struct vcpu *v, uint64_t value)
{
	uint64_t old = vmread(VMCS_GUEST_EFER);
	bool paging = vmread(VMCS_CR0_SHADOW) & CR0_PG;

	if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
		return false;
	if (paging && ((value ^ old) & EFER_LME))
		return false;   /* LME cannot change while paging is on */
	vmx_update_long_mode(v, value & EFER_GUEST_WRITABLE, paging);
	return true;
}

/* The SYSCALL MSRs and KERNEL_GS_BASE: kept in struct vcpu and live in the CPU while v runs. */
static bool write_switched_msr(struct vcpu *v, uint32_t msr, uint64_t value)
{
	uint64_t *slot;

	switch (msr) {
	case MSR_STAR:
		slot = &v->star;
		break;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
		if (!x86_canonical(value))
			return false;
		slot = msr == MSR_LSTAR ? &v->lstar : msr == MSR_CSTAR ? &v->cstar : &v->kernel_gs_base;
		break;
	case MSR_SFMASK:
		if (value & ~MSR_LOW32)
			return false;
		slot = &v->sfmask;
		break;
	default:
		return false;
	}
	*slot = value;
	wrmsr(msr, value);
	return true;
}

static bool write_msr(struct vcpu *v, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		vmx_vcpu_set_guest_tsc(v, value);
		return true;
	case MSR_IA32_SYSENTER_CS:
		vmwrite(VMCS_GUEST_SYSENTER_CS, value & MSR_LOW32);
		return true;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!x86_canonical(value))
			return false;
		vmwrite(msr == MSR_IA32_SYSENTER_ESP ? VMCS_GUEST_SYSENTER_ESP : VMCS_GUEST_SYSENTER_EIP,
			value);
		return true;
	case MSR_IA32_MISC_ENABLE:
		return true;   /* ignored */
	case MSR_IA32_PAT:
		if (!vmx_controls()->load_pat || !x86_pat_valid(value))
			return false;
		vmwrite(VMCS_GUEST_PAT, value);
		return true;
	case MSR_IA32_EFER:
		return write_efer(v, value);
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!x86_canonical(value))
			return false;
		vmwrite(VMCS_GUEST_ES_BASE + 2 * (msr == MSR_FS_BASE ? SEG_FS : SEG_GS), value);
		return true;
	default:
		return write_switched_msr(v, msr, value);
	}
}

/* The speculation-control MSRs (arch/x86/spec_hw.h), before Ferry's own list. */
static bool spec_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value, bool *ok)
{
	enum spec_msr_result r = spec_hw_guest_msr(v->cpuid, &v->spec, msr, write, value);

	*ok = r == SPEC_MSR_DONE;
	return r != SPEC_MSR_NOT_MINE;
}

enum exit_action vmx_on_rdmsr(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr, value = 0;
	uint32_t msr = (uint32_t)g[GPR_RCX];
	bool ok;

	if (!spec_msr(x->v, msr, false, &value, &ok))
		ok = read_msr(x->v, msr, &value);
	if (!ok)
		return vmx_inject_gp();
	g[GPR_RAX] = value & MSR_LOW32;
	g[GPR_RDX] = value >> 32;
	vmx_skip_instruction();
	return EXIT_RESUME;
}

enum exit_action vmx_on_wrmsr(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr;
	uint64_t value = (g[GPR_RDX] & MSR_LOW32) << 32 | (g[GPR_RAX] & MSR_LOW32);
	uint32_t msr = (uint32_t)g[GPR_RCX];
	bool ok;

	if (!spec_msr(x->v, msr, true, &value, &ok))
		ok = write_msr(x->v, msr, value);
	if (!ok)
		return vmx_inject_gp();
	vmx_skip_instruction();
	return EXIT_RESUME;
}
