/*
 * MSRs for SVM guests. The MSR permission map makes every RDMSR and WRMSR
 * exit; the architectural MSRs a guest of Ferry's uses are emulated against the
 * VMCB (which VMRUN and VMLOAD load: EFER, PAT, the SYSENTER and SYSCALL MSRs,
 * FS/GS bases, KERNEL_GS_BASE) and the TSC offset; everything else is #GP, as
 * on VT-x. VM_CR reads as SVM disabled and locked, which is what a CPU without
 * SVM shows (AMD64 APM Vol. 2, 15.30.1); EFER.SVME is neither shown nor settable.
 */
#include "arch/x86/spec_hw.h"
#include "arch/x86/svm/caps.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/x86.h"

#define EFER_GUEST_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)
#define VM_CR_AS_SEEN       (VM_CR_LOCK | VM_CR_SVMDIS)
#define LOW32               0xffffffffull

bool svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	const struct vmcb_save *s = &v->vmcb->save;
	enum spec_msr_result spec = spec_hw_guest_msr(v->cpuid, &v->spec, msr, false, value);

	if (spec != SPEC_MSR_NOT_MINE)   /* the speculation controls (arch/x86/spec_hw.h) */
		return spec == SPEC_MSR_DONE;
	switch (msr) {
	case MSR_IA32_TSC:          *value = svm_vcpu_guest_tsc(v); return true;
	case MSR_IA32_SYSENTER_CS:  *value = s->sysenter_cs; return true;
	case MSR_IA32_SYSENTER_ESP: *value = s->sysenter_esp; return true;
	case MSR_IA32_SYSENTER_EIP: *value = s->sysenter_eip; return true;
	case MSR_IA32_PAT:          *value = s->g_pat; return true;
	case MSR_IA32_EFER:         *value = svm_guest_efer(v); return true;
	case MSR_STAR:              *value = s->star; return true;
	case MSR_LSTAR:             *value = s->lstar; return true;
	case MSR_CSTAR:             *value = s->cstar; return true;
	case MSR_SFMASK:            *value = s->sfmask; return true;
	case MSR_FS_BASE:           *value = s->fs.base; return true;
	case MSR_GS_BASE:           *value = s->gs.base; return true;
	case MSR_KERNEL_GS_BASE:    *value = s->kernel_gs_base; return true;
	case MSR_VM_CR:             *value = VM_CR_AS_SEEN; return true;
	default:                    return false;
	}
}

/* A write of a canonical address into *field; false (#GP) otherwise. */
static bool set_canonical(uint64_t *field, uint64_t value)
{
	if (!x86_canonical(value))
		return false;
	*field = value;
	return true;
}

static bool write_efer(struct vcpu *v, uint64_t value)
{
	uint64_t old = svm_guest_efer(v);
	bool paging = v->vmcb->save.cr0 & CR0_PG;

	if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
		return false;
	if (paging && ((value ^ old) & EFER_LME))
		return false;   /* LME cannot change while paging is on */
	svm_set_guest_efer(v, value & EFER_GUEST_WRITABLE);
	return true;
}

bool svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
	struct vmcb_save *s = &v->vmcb->save;
	enum spec_msr_result spec = spec_hw_guest_msr(v->cpuid, &v->spec, msr, true, &value);

	if (spec != SPEC_MSR_NOT_MINE)
		return spec == SPEC_MSR_DONE;
	switch (msr) {
	case MSR_IA32_TSC:
		svm_vcpu_set_guest_tsc(v, value);
		return true;
	case MSR_IA32_SYSENTER_CS:
		s->sysenter_cs = value & LOW32;
		return true;
	case MSR_IA32_SYSENTER_ESP: return set_canonical(&s->sysenter_esp, value);
	case MSR_IA32_SYSENTER_EIP: return set_canonical(&s->sysenter_eip, value);
	case MSR_IA32_PAT:
		if (!x86_pat_valid(value))
			return false;
		s->g_pat = value;
		return true;
	case MSR_IA32_EFER:
		return write_efer(v, value);
	case MSR_STAR:
		s->star = value;
		return true;
	case MSR_LSTAR:          return set_canonical(&s->lstar, value);
	case MSR_CSTAR:          return set_canonical(&s->cstar, value);
	case MSR_KERNEL_GS_BASE: return set_canonical(&s->kernel_gs_base, value);
	case MSR_FS_BASE:        return set_canonical(&s->fs.base, value);
	case MSR_GS_BASE:        return set_canonical(&s->gs.base, value);
	case MSR_SFMASK:
		if (value >> 32)
			return false;
		s->sfmask = value;
		return true;
	default:
		return false;
	}
}
