/* The machine-check MSRs (image only); see mce.h. */
#include "arch/x86/mce.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"

bool mce_supported(void)
{
	uint32_t edx = cpuid(CPUID_LEAF_FEATURES, 0).edx;

	return (edx & CPUID_1_EDX_MCE) && (edx & CPUID_1_EDX_MCA);
}

void mce_collect(struct mce_record *r)
{
	r->mcg_status = 0;
	r->banks = 0;
	if (!mce_supported())
		return;
	unsigned count = rdmsr(MSR_IA32_MCG_CAP) & MCG_CAP_COUNT_MASK;
	r->banks = count < MCE_BANKS_MAX ? count : MCE_BANKS_MAX;
	r->mcg_status = rdmsr(MSR_IA32_MCG_STATUS);
	for (unsigned i = 0; i < r->banks; i++) {
		r->status[i] = rdmsr(MSR_IA32_MC0_STATUS + MCE_BANK_MSR_STRIDE * i);
		r->addr[i] = r->status[i] & MCI_STATUS_ADDRV ?
			     rdmsr(MSR_IA32_MC0_ADDR + MCE_BANK_MSR_STRIDE * i) : 0;
	}
}

void mce_clear(const struct mce_record *r)
{
	if (!mce_supported())
		return;
	for (unsigned i = 0; i < r->banks; i++)
		if (r->status[i] & MCI_STATUS_VAL)
			wrmsr(MSR_IA32_MC0_STATUS + MCE_BANK_MSR_STRIDE * i, 0);
	wrmsr(MSR_IA32_MCG_STATUS, 0);
}

bool mce_in_progress(void)
{
	return mce_supported() && (rdmsr(MSR_IA32_MCG_STATUS) & MCG_STATUS_MCIP);
}

static uint64_t guest_machine_checks;

enum mce_verdict mce_guest_event(char *why, size_t cap)
{
	struct mce_record r;
	int bank;

	mce_collect(&r);
	enum mce_verdict verdict = mce_judge(&r, &bank, why, cap);
	guest_machine_checks++;
	if (verdict == MCE_STOP_GUEST)
		mce_clear(&r);
	return verdict;
}

uint64_t mce_guest_count(void)
{
	return guest_machine_checks;
}
