/* Host tests of the speculation-control decision and a guest's MSRs (arch/x86/spec_ctrl.c). */
#include "check.h"
#include "arch/x86/spec_ctrl.h"

#include <string.h>

static struct spec_policy decide(bool amd, uint32_t leaf7_edx, uint32_t ext8_ebx, uint64_t arch_caps)
{
	struct spec_caps c = { amd, leaf7_edx, ext8_ebx, arch_caps };
	struct spec_policy p;

	spec_decide(&c, &p);
	return p;
}

#define INTEL_ALL (CPUID_7_EDX_MD_CLEAR | CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_STIBP | \
		   CPUID_7_EDX_L1D_FLUSH | CPUID_7_EDX_ARCH_CAPS | CPUID_7_EDX_SSBD)

TEST(an_old_intel_part_flushes_l1d_and_needs_no_verw)
{
	/* Skylake-era: no ARCH_CAPABILITIES bits saying otherwise: L1TF and MDS both. */
	struct spec_policy p = decide(false, INTEL_ALL & ~CPUID_7_EDX_ARCH_CAPS, 0, 0);

	CHECK(p.l1d_flush_on_entry);
	CHECK(!p.verw_on_entry);          /* the flush clears the same buffers */
	CHECK(p.ibpb_between_guests);
	CHECK(p.rsb_fill_on_exit);
	CHECK_EQ_U(p.spec_ctrl_bits, SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	CHECK_EQ_U(p.guest_leaf7_edx, INTEL_ALL & ~CPUID_7_EDX_ARCH_CAPS);
}

TEST(l1tf_without_the_flush_command_is_reported)
{
	struct spec_policy p = decide(false, CPUID_7_EDX_IBRS_IBPB, 0, 0);

	CHECK(!p.l1d_flush_on_entry);
	CHECK(p.l1tf_unmitigated);
	CHECK(!p.verw_on_entry);          /* no MD_CLEAR: VERW would clear nothing */
}

TEST(a_part_not_affected_by_l1tf_uses_verw_for_mds)
{
	/* Cascade Lake-like: RDCL_NO, but MDS_NO clear and MD_CLEAR present. */
	struct spec_policy p = decide(false, INTEL_ALL, 0, ARCH_CAP_RDCL_NO);

	CHECK(!p.l1d_flush_on_entry);
	CHECK(!p.l1tf_unmitigated);
	CHECK(p.verw_on_entry);
	/* SKIP_L1DFL_VMENTRY alone also spares the flush. */
	p = decide(false, INTEL_ALL, 0, ARCH_CAP_SKIP_L1DFL_VMENTRY);
	CHECK(!p.l1d_flush_on_entry && !p.l1tf_unmitigated && p.verw_on_entry);
}

TEST(a_part_immune_to_both_does_neither)
{
	struct spec_policy p = decide(false, INTEL_ALL, 0,
				      ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO | ARCH_CAP_TAA_NO);

	CHECK(!p.l1d_flush_on_entry && !p.verw_on_entry && !p.l1tf_unmitigated);
	CHECK(p.ibpb_between_guests && p.rsb_fill_on_exit);
	/* ARCH_CAPABILITIES is not enumerated: its value, whatever it is, is not believed. */
	p = decide(false, INTEL_ALL & ~CPUID_7_EDX_ARCH_CAPS, 0, ARCH_CAP_RDCL_NO | ARCH_CAP_MDS_NO);
	CHECK(p.l1d_flush_on_entry);
}

TEST(amd_synthesizes_the_intel_bits)
{
	struct spec_policy p = decide(true, 0, CPUID_EXT8_EBX_IBPB | CPUID_EXT8_EBX_IBRS |
				      CPUID_EXT8_EBX_STIBP | CPUID_EXT8_EBX_SSBD, 0);

	CHECK(!p.l1d_flush_on_entry && !p.verw_on_entry && !p.l1tf_unmitigated);
	CHECK(p.ibpb_between_guests);
	CHECK_EQ_U(p.guest_leaf7_edx, CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_STIBP | CPUID_7_EDX_SSBD);
	CHECK_EQ_U(p.spec_ctrl_bits, SPEC_CTRL_IBRS | SPEC_CTRL_STIBP | SPEC_CTRL_SSBD);
	/* IBPB without IBRS: the command, but no IBRS bit to show. */
	p = decide(true, 0, CPUID_EXT8_EBX_IBPB, 0);
	CHECK(p.ibpb_between_guests);
	CHECK_EQ_U(p.guest_leaf7_edx, 0);
	/* Nothing enumerated (QEMU's TCG): nothing shown, nothing done but the RSB refill. */
	p = decide(true, 0, 0, 0);
	CHECK(!p.ibpb_between_guests && p.rsb_fill_on_exit && !p.spec_ctrl_bits && !p.guest_leaf7_edx);
}

TEST(guest_msrs_follow_what_the_guest_was_shown)
{
	struct cpu_features all, none;
	struct spec_guest g = { 0 };
	uint64_t v = 123;

	memset(&all, 0, sizeof(all));
	memset(&none, 0, sizeof(none));
	all.leaf7_edx = CPUID_7_EDX_IBRS_IBPB | CPUID_7_EDX_STIBP | CPUID_7_EDX_SSBD | CPUID_7_EDX_L1D_FLUSH;

	CHECK_EQ_U(spec_guest_rdmsr(&none, &g, MSR_IA32_SPEC_CTRL, &v), SPEC_MSR_GP);
	CHECK_EQ_U(spec_guest_wrmsr(&none, &g, MSR_IA32_SPEC_CTRL, 0), SPEC_MSR_GP);
	CHECK_EQ_U(spec_guest_wrmsr(&none, &g, MSR_IA32_PRED_CMD, PRED_CMD_IBPB), SPEC_MSR_GP);
	CHECK_EQ_U(spec_guest_wrmsr(&none, &g, MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D), SPEC_MSR_GP);

	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_SPEC_CTRL, SPEC_CTRL_IBRS | SPEC_CTRL_SSBD), SPEC_MSR_DONE);
	CHECK_EQ_U(spec_guest_rdmsr(&all, &g, MSR_IA32_SPEC_CTRL, &v), SPEC_MSR_DONE);
	CHECK_EQ_U(v, SPEC_CTRL_IBRS | SPEC_CTRL_SSBD);
	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_SPEC_CTRL, 1ull << 3), SPEC_MSR_GP);   /* reserved */
	CHECK_EQ_U(g.spec_ctrl, SPEC_CTRL_IBRS | SPEC_CTRL_SSBD);                              /* unchanged */
	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_PRED_CMD, PRED_CMD_IBPB), SPEC_MSR_DO_IBPB);
	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_PRED_CMD, 0), SPEC_MSR_DONE);
	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_PRED_CMD, 2), SPEC_MSR_GP);
	CHECK_EQ_U(spec_guest_rdmsr(&all, &g, MSR_IA32_PRED_CMD, &v), SPEC_MSR_GP);          /* write-only */
	CHECK_EQ_U(spec_guest_wrmsr(&all, &g, MSR_IA32_FLUSH_CMD, FLUSH_CMD_L1D), SPEC_MSR_DO_L1D_FLUSH);
	CHECK_EQ_U(spec_guest_rdmsr(&all, &g, MSR_IA32_ARCH_CAPABILITIES, &v), SPEC_MSR_NOT_MINE);
	CHECK_EQ_U(spec_guest_rdmsr(&all, &g, 0xc0000082, &v), SPEC_MSR_NOT_MINE);

	/* STIBP alone: SPEC_CTRL exists, with only that bit. */
	struct cpu_features stibp = none;
	stibp.leaf7_edx = CPUID_7_EDX_STIBP;
	CHECK_EQ_U(spec_guest_spec_ctrl_bits(&stibp), SPEC_CTRL_STIBP);
	CHECK_EQ_U(spec_guest_wrmsr(&stibp, &g, MSR_IA32_SPEC_CTRL, SPEC_CTRL_IBRS), SPEC_MSR_GP);
	CHECK_EQ_U(spec_guest_wrmsr(&stibp, &g, MSR_IA32_PRED_CMD, PRED_CMD_IBPB), SPEC_MSR_GP);
}

int main(void)
{
	return run_tests();
}
