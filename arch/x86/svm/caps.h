/*
 * What AMD-V (SVM) this CPU offers, decoded from CPUID and the VM_CR MSR (AMD64
 * APM Vol. 2, 15.4 "Enabling SVM" and appendix E, CPUID Fn8000_000A). Decoding
 * is portable and host-tested; reading CPUID and VM_CR (svm_caps_read) runs only
 * in the image, and reads VM_CR only when CPUID says SVM exists.
 */
#ifndef FERRY_ARCH_X86_SVM_CAPS_H
#define FERRY_ARCH_X86_SVM_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#define CPUID_EXT_MAX_LEAF       0x80000000u
#define CPUID_EXT_FEATURES_LEAF  0x80000001u
#define CPUID_SVM_LEAF           0x8000000au
#define CPUID_80000001_ECX_SVM   (1u << 2)

/* CPUID Fn8000_000A_EDX (APM Vol. 3, appendix E.4.9). */
#define SVM_FEATURE_NPT            (1u << 0)
#define SVM_FEATURE_LBR_VIRT       (1u << 1)
#define SVM_FEATURE_SVM_LOCK       (1u << 2)
#define SVM_FEATURE_NRIP_SAVE      (1u << 3)
#define SVM_FEATURE_TSC_RATE       (1u << 4)
#define SVM_FEATURE_VMCB_CLEAN     (1u << 5)
#define SVM_FEATURE_FLUSH_BY_ASID  (1u << 6)
#define SVM_FEATURE_DECODE_ASSISTS (1u << 7)
#define SVM_FEATURE_PAUSE_FILTER   (1u << 10)
#define SVM_FEATURE_AVIC           (1u << 13)
#define SVM_FEATURE_VGIF           (1u << 16)

/* VM_CR (APM Vol. 2, 15.30.1). */
#define MSR_VM_CR          0xc0010114u
#define VM_CR_LOCK         (1ull << 3)
#define VM_CR_SVMDIS       (1ull << 4)

struct svm_cpuid {
	bool cpuid_svm;          /* CPUID Fn8000_0001_ECX[SVM] */
	uint32_t max_ext_leaf;   /* CPUID Fn8000_0000_EAX */
	uint32_t revision;       /* Fn8000_000A_EAX[7:0] */
	uint32_t asids;          /* Fn8000_000A_EBX: ASIDs, 0 (the host's) included */
	uint32_t features;       /* Fn8000_000A_EDX */
	uint64_t vm_cr;          /* MSR VM_CR, 0 when SVM is absent */
};

struct svm_features {
	bool svm;                /* the CPU has SVM */
	bool disabled;           /* VM_CR.SVMDIS: the firmware turned it off */
	bool disabled_locked;    /* ... and locked it off (VM_CR.LOCK) */
	bool npt;
	bool nrips;
	bool decode_assists;
	bool flush_by_asid;
	bool vmcb_clean;
	bool avic;
	bool vgif;
	bool pause_filter;
	unsigned asids;          /* guest ASIDs available: 1 .. asids-1 */
	unsigned revision;
};

void svm_caps_decode(const struct svm_cpuid *raw, struct svm_features *out);

/* Image only: reads CPUID and, when SVM exists, VM_CR. */
void svm_caps_read(struct svm_cpuid *out);

#endif
