/* Decoding of the SVM capabilities; see caps.h. */
#include "arch/x86/svm/caps.h"

#include <string.h>

#define SVM_REVISION_MASK 0xffu

void svm_caps_decode(const struct svm_cpuid *raw, struct svm_features *out)
{
	memset(out, 0, sizeof(*out));
	if (!raw->cpuid_svm)
		return;
	out->svm = true;
	out->disabled = raw->vm_cr & VM_CR_SVMDIS;
	out->disabled_locked = out->disabled && (raw->vm_cr & VM_CR_LOCK);
	if (raw->max_ext_leaf < CPUID_SVM_LEAF)
		return;   /* SVM without its feature leaf: nothing beyond the base architecture */
	uint32_t f = raw->features;
	out->npt = f & SVM_FEATURE_NPT;
	out->nrips = f & SVM_FEATURE_NRIP_SAVE;
	out->decode_assists = f & SVM_FEATURE_DECODE_ASSISTS;
	out->flush_by_asid = f & SVM_FEATURE_FLUSH_BY_ASID;
	out->vmcb_clean = f & SVM_FEATURE_VMCB_CLEAN;
	out->avic = f & SVM_FEATURE_AVIC;
	out->vgif = f & SVM_FEATURE_VGIF;
	out->pause_filter = f & SVM_FEATURE_PAUSE_FILTER;
	out->asids = raw->asids;
	out->revision = raw->revision & SVM_REVISION_MASK;
}

#ifdef FERRY_IMAGE
#include "arch/x86/cpu.h"

void svm_caps_read(struct svm_cpuid *out)
{
	memset(out, 0, sizeof(*out));
	out->max_ext_leaf = cpuid(CPUID_EXT_MAX_LEAF, 0).eax;
	if (out->max_ext_leaf < CPUID_EXT_FEATURES_LEAF)
		return;
	out->cpuid_svm = cpuid(CPUID_EXT_FEATURES_LEAF, 0).ecx & CPUID_80000001_ECX_SVM;
	if (!out->cpuid_svm)
		return;
	if (out->max_ext_leaf >= CPUID_SVM_LEAF) {
		struct cpuid_regs r = cpuid(CPUID_SVM_LEAF, 0);
		out->revision = r.eax;
		out->asids = r.ebx;
		out->features = r.edx;
	}
	out->vm_cr = rdmsr(MSR_VM_CR);
}
#endif
