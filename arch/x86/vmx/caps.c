/* Decoding of the VMX capability MSRs; see caps.h. */
#include "arch/x86/vmx/caps.h"
#include "arch/x86/x86.h"

#include <string.h>

void vmx_caps_decode(const struct vmx_msrs *m, struct vmx_features *out)
{
	memset(out, 0, sizeof(*out));
	if (!m->cpuid_vmx)
		return;
	out->vmx = true;
	out->preemption_timer = vmx_ctl_allows(m->pinbased, PIN_CTL_PREEMPTION_TIMER);
	if (!vmx_ctl_allows(m->procbased, PROC_CTL_ACTIVATE_SECONDARY))
		return;
	out->ept = vmx_ctl_allows(m->procbased2, PROC2_CTL_ENABLE_EPT) &&
		   (m->ept_vpid_cap & EPT_CAP_PAGE_WALK_4) && (m->ept_vpid_cap & EPT_CAP_MEMTYPE_WB);
	out->ept_ad = out->ept && (m->ept_vpid_cap & EPT_CAP_ACCESSED_DIRTY);
	out->pml = out->ept_ad && vmx_ctl_allows(m->procbased2, PROC2_CTL_ENABLE_PML);
	/* Unrestricted guest needs EPT (SDM Vol. 3C 26.2.1.1). */
	out->unrestricted = out->ept && vmx_ctl_allows(m->procbased2, PROC2_CTL_UNRESTRICTED_GUEST);
	out->vpid = vmx_ctl_allows(m->procbased2, PROC2_CTL_ENABLE_VPID);
}

#ifdef FERRY_IMAGE
#include "arch/x86/cpu.h"

void vmx_caps_read(struct vmx_msrs *out)
{
	memset(out, 0, sizeof(*out));
	out->cpuid_vmx = cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_VMX;
	if (!out->cpuid_vmx)
		return;
	out->basic = rdmsr(MSR_IA32_VMX_BASIC);
	bool true_ctls = out->basic & VMX_BASIC_TRUE_CTLS;
	out->pinbased = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	out->procbased = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	if (vmx_ctl_allows(out->procbased, PROC_CTL_ACTIVATE_SECONDARY)) {
		out->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if (vmx_ctl_allows(out->procbased2, PROC2_CTL_ENABLE_EPT | PROC2_CTL_ENABLE_VPID))
			out->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	}
}
#endif
