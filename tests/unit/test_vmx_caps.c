/* Host tests of the VMX capability decoding (arch/x86/vmx/caps.c). */
#include "check.h"
#include "arch/x86/vmx/caps.h"

/* Values read from Bochs 2.7 with `cpu: model=tigerlake` (see DESIGN.md). */
#define BOCHS_EPT_VPID_CAP 0x00000f0106b34141ull
#define BOCHS_PROCBASED2_ALLOWED1 0x02977fffull

static struct vmx_msrs bochs_tigerlake(void)
{
	struct vmx_msrs m = {
		.cpuid_vmx = true,
		.basic = VMX_BASIC_TRUE_CTLS,
		.pinbased = (uint64_t)PIN_CTL_PREEMPTION_TIMER << 32,
		.procbased = (uint64_t)PROC_CTL_ACTIVATE_SECONDARY << 32,
		.procbased2 = BOCHS_PROCBASED2_ALLOWED1 << 32,
		.ept_vpid_cap = BOCHS_EPT_VPID_CAP,
	};
	return m;
}

TEST(bochs_tigerlake_has_everything)
{
	struct vmx_msrs m = bochs_tigerlake();
	struct vmx_features f;

	vmx_caps_decode(&m, &f);
	CHECK(f.vmx && f.ept && f.ept_ad && f.pml && f.unrestricted && f.vpid && f.preemption_timer);
}

TEST(no_vmx_means_nothing)
{
	struct vmx_msrs m = bochs_tigerlake();
	struct vmx_features f;

	m.cpuid_vmx = false;
	vmx_caps_decode(&m, &f);
	CHECK(!f.vmx && !f.ept && !f.ept_ad && !f.pml && !f.unrestricted && !f.vpid && !f.preemption_timer);
}

TEST(no_secondary_controls)
{
	struct vmx_msrs m = bochs_tigerlake();
	struct vmx_features f;

	m.procbased = 0;
	vmx_caps_decode(&m, &f);
	CHECK(f.vmx && f.preemption_timer);
	CHECK(!f.ept && !f.ept_ad && !f.pml && !f.unrestricted && !f.vpid);
}

TEST(ept_without_ad_bits_has_no_pml)
{
	struct vmx_msrs m = bochs_tigerlake();
	struct vmx_features f;

	m.ept_vpid_cap &= ~EPT_CAP_ACCESSED_DIRTY;
	vmx_caps_decode(&m, &f);
	CHECK(f.ept && !f.ept_ad && !f.pml);
}

TEST(allowed_zero_half_is_ignored)
{
	struct vmx_msrs m = bochs_tigerlake();
	struct vmx_features f;

	/* Bits in the low half (allowed-0) say what must be 1, not what may be. */
	m.pinbased = PIN_CTL_PREEMPTION_TIMER;
	vmx_caps_decode(&m, &f);
	CHECK(!f.preemption_timer);
}

int main(void)
{
	return run_tests();
}
