/* Host tests of the SVM capability decode (arch/x86/svm/caps.c). */
#include "check.h"
#include "arch/x86/svm/caps.h"

/* What QEMU 7.2's TCG reports with -cpu max,+svm,+npt (docs/svm.md): nested paging and VGIF, 16 ASIDs. */
static struct svm_cpuid qemu_tcg(void)
{
	struct svm_cpuid raw = {
		.cpuid_svm = true, .max_ext_leaf = 0x8000001f, .revision = 1, .asids = 16,
		.features = SVM_FEATURE_NPT | SVM_FEATURE_VGIF, .vm_cr = 0,
	};
	return raw;
}

TEST(qemu_tcg_has_npt_and_little_else)
{
	struct svm_cpuid raw = qemu_tcg();
	struct svm_features f;

	svm_caps_decode(&raw, &f);
	CHECK(f.svm && f.npt && f.vgif && !f.disabled);
	CHECK(!f.nrips && !f.decode_assists && !f.flush_by_asid && !f.vmcb_clean && !f.avic && !f.pause_filter);
	CHECK_EQ_U(f.asids, 16);
	CHECK_EQ_U(f.revision, 1);
}

TEST(an_epyc_has_everything)
{
	struct svm_cpuid raw = qemu_tcg();
	struct svm_features f;

	raw.asids = 32768;
	raw.features = SVM_FEATURE_NPT | SVM_FEATURE_LBR_VIRT | SVM_FEATURE_SVM_LOCK | SVM_FEATURE_NRIP_SAVE |
		       SVM_FEATURE_TSC_RATE | SVM_FEATURE_VMCB_CLEAN | SVM_FEATURE_FLUSH_BY_ASID |
		       SVM_FEATURE_DECODE_ASSISTS | SVM_FEATURE_PAUSE_FILTER | SVM_FEATURE_AVIC | SVM_FEATURE_VGIF;
	svm_caps_decode(&raw, &f);
	CHECK(f.npt && f.nrips && f.decode_assists && f.flush_by_asid && f.vmcb_clean && f.avic && f.pause_filter);
	CHECK_EQ_U(f.asids, 32768);
}

TEST(firmware_can_disable_svm)
{
	struct svm_cpuid raw = qemu_tcg();
	struct svm_features f;

	raw.vm_cr = VM_CR_SVMDIS | VM_CR_LOCK;
	svm_caps_decode(&raw, &f);
	CHECK(f.svm && f.disabled && f.disabled_locked);
	raw.vm_cr = VM_CR_SVMDIS;   /* disabled but not locked: Ferry may clear it */
	svm_caps_decode(&raw, &f);
	CHECK(f.disabled && !f.disabled_locked);
	raw.vm_cr = VM_CR_LOCK;     /* locked on */
	svm_caps_decode(&raw, &f);
	CHECK(!f.disabled && !f.disabled_locked);
}

TEST(no_svm_means_nothing)
{
	struct svm_cpuid raw = qemu_tcg();
	struct svm_features f;

	raw.cpuid_svm = false;
	svm_caps_decode(&raw, &f);
	CHECK(!f.svm && !f.npt && !f.nrips && !f.disabled && f.asids == 0);
	/* SVM but no feature leaf (an old CPU): SVM without nested paging. */
	raw = qemu_tcg();
	raw.max_ext_leaf = 0x80000008;
	svm_caps_decode(&raw, &f);
	CHECK(f.svm && !f.npt && f.asids == 0);
}

int main(void)
{
	return run_tests();
}
