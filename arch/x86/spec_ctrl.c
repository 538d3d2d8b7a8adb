/* Speculation controls: the decision and a guest's MSRs; see spec_ctrl.h. */
#include "arch/x86/spec_ctrl.h"

/* The CPUID.7.EDX bits a guest may be shown (ARCH_CAPABILITIES is not: see spec_ctrl.h). */
#define LEAF7_EDX_SHOWN (CPUID_7_EDX_MD_CLEAR | CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_STIBP | \
			 CPUID_7_EDX_L1D_FLUSH | CPUID_7_EDX_SSBD)

static void decide_intel(const struct spec_caps *c, struct spec_policy *p)
{
	uint64_t caps = c->leaf7_edx & CPUID_7_EDX_ARCH_CAPS ? c->arch_caps : 0;
	bool l1tf = !(caps & ARCH_CAP_RDCL_NO) && !(caps & ARCH_CAP_SKIP_L1DFL_VMENTRY);
	bool mds_or_taa = !(caps & ARCH_CAP_MDS_NO) || !(caps & ARCH_CAP_TAA_NO);

	p->ibpb_between_guests = c->leaf7_edx & CPUID_7_EDX_IBRS_IBPB;
	p->l1d_flush_on_entry = l1tf && (c->leaf7_edx & CPUID_7_EDX_L1D_FLUSH);
	p->l1tf_unmitigated = l1tf && !p->l1d_flush_on_entry;
	/* The L1D flush also clears the buffers VERW clears on MD_CLEAR parts: one of the two. */
	p->verw_on_entry = mds_or_taa && (c->leaf7_edx & CPUID_7_EDX_MD_CLEAR) && !p->l1d_flush_on_entry;
	p->spec_ctrl_bits = (c->leaf7_edx & CPUID_7_EDX_IBRS_IBPB ? SPEC_CTRL_IBRS : 0) |
			    (c->leaf7_edx & CPUID_7_EDX_STIBP ? SPEC_CTRL_STIBP : 0) |
			    (c->leaf7_edx & CPUID_7_EDX_SSBD ? SPEC_CTRL_SSBD : 0);
	p->guest_leaf7_edx = c->leaf7_edx & LEAF7_EDX_SHOWN;
}

/* AMD enumerates in Fn8000_0008_EBX; guests are shown the Intel bits those imply, as KVM does. */
static void decide_amd(const struct spec_caps *c, struct spec_policy *p)
{
	bool ibpb = c->ext8_ebx & CPUID_EXT8_EBX_IBPB, ibrs = c->ext8_ebx & CPUID_EXT8_EBX_IBRS;
	bool stibp = c->ext8_ebx & CPUID_EXT8_EBX_STIBP, ssbd = c->ext8_ebx & CPUID_EXT8_EBX_SSBD;

	p->ibpb_between_guests = ibpb;
	p->spec_ctrl_bits = (ibrs ? SPEC_CTRL_IBRS : 0) | (stibp ? SPEC_CTRL_STIBP : 0) |
			    (ssbd ? SPEC_CTRL_SSBD : 0);
	p->guest_leaf7_edx = (ibpb && ibrs ? CPUID_7_EDX_IBRS_IBPB : 0) |
			     (stibp ? CPUID_7_EDX_STIBP : 0) | (ssbd ? CPUID_7_EDX_SSBD : 0);
}

void spec_decide(const struct spec_caps *caps, struct spec_policy *out)
{
	*out = (struct spec_policy){ .rsb_fill_on_exit = true };
	if (caps->amd)
		decide_amd(caps, out);
	else
		decide_intel(caps, out);
}

uint64_t spec_guest_spec_ctrl_bits(const struct cpu_features *mask)
{
	return (mask->leaf7_edx & CPUID_7_EDX_IBRS_IBPB ? SPEC_CTRL_IBRS : 0) |
	       (mask->leaf7_edx & CPUID_7_EDX_STIBP ? SPEC_CTRL_STIBP : 0) |
	       (mask->leaf7_edx & CPUID_7_EDX_SSBD ? SPEC_CTRL_SSBD : 0);
}

enum spec_msr_result spec_guest_rdmsr(const struct cpu_features *mask, const struct spec_guest *g,
				      uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_SPEC_CTRL:
		if (!spec_guest_spec_ctrl_bits(mask))
			return SPEC_MSR_GP;
		*value = g->spec_ctrl;
		return SPEC_MSR_DONE;
	case MSR_IA32_PRED_CMD:
	case MSR_IA32_FLUSH_CMD:
		return SPEC_MSR_GP;   /* write-only commands */
	default:
		return SPEC_MSR_NOT_MINE;
	}
}

enum spec_msr_result spec_guest_wrmsr(const struct cpu_features *mask, struct spec_guest *g,
				      uint32_t msr, uint64_t value)
{
	uint64_t allowed = spec_guest_spec_ctrl_bits(mask);

	switch (msr) {
	case MSR_IA32_SPEC_CTRL:
		if (!allowed || (value & ~allowed))
			return SPEC_MSR_GP;
		g->spec_ctrl = value;
		return SPEC_MSR_DONE;
	case MSR_IA32_PRED_CMD:
		if (!(mask->leaf7_edx & CPUID_7_EDX_IBRS_IBPB) || (value & ~PRED_CMD_IBPB))
			return SPEC_MSR_GP;
		return value ? SPEC_MSR_DO_IBPB : SPEC_MSR_DONE;
	case MSR_IA32_FLUSH_CMD:
		if (!(mask->leaf7_edx & CPUID_7_EDX_L1D_FLUSH) || (value & ~FLUSH_CMD_L1D))
			return SPEC_MSR_GP;
		return value ? SPEC_MSR_DO_L1D_FLUSH : SPEC_MSR_DONE;
	default:
		return SPEC_MSR_NOT_MINE;
	}
}
