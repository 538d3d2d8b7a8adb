/*
 * What VT-x this CPU offers, decoded from CPUID and the VMX capability MSRs
 * (SDM Vol. 3D appendix A). Decoding is portable and host-tested; reading the
 * MSRs (vmx_caps_read) runs only in the image, and only when CPUID says VMX
 * exists, since the MSRs fault otherwise.
 */
#ifndef FERRY_ARCH_X86_VMX_CAPS_H
#define FERRY_ARCH_X86_VMX_CAPS_H

#include <stdbool.h>
#include <stdint.h>

/* Capability MSRs (SDM Vol. 4, table 2-2; Vol. 3D A.1-A.10). */
#define MSR_IA32_VMX_BASIC                0x480
#define MSR_IA32_VMX_PINBASED_CTLS        0x481
#define MSR_IA32_VMX_PROCBASED_CTLS       0x482
#define MSR_IA32_VMX_EXIT_CTLS            0x483
#define MSR_IA32_VMX_ENTRY_CTLS           0x484
#define MSR_IA32_VMX_MISC                 0x485
#define MSR_IA32_VMX_CR0_FIXED0           0x486
#define MSR_IA32_VMX_CR0_FIXED1           0x487
#define MSR_IA32_VMX_CR4_FIXED0           0x488
#define MSR_IA32_VMX_CR4_FIXED1           0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2      0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP         0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS   0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS  0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS       0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS      0x490

#define VMX_BASIC_TRUE_CTLS               (1ull << 55)

/* Control bits Ferry relies on (SDM Vol. 3C 25.6). */
#define PIN_CTL_PREEMPTION_TIMER          (1u << 6)
#define PROC_CTL_ACTIVATE_SECONDARY       (1u << 31)
#define PROC2_CTL_ENABLE_EPT              (1u << 1)
#define PROC2_CTL_ENABLE_VPID             (1u << 5)
#define PROC2_CTL_WBINVD_EXITING          (1u << 6)
#define PROC2_CTL_UNRESTRICTED_GUEST      (1u << 7)
#define PROC2_CTL_ENABLE_PML              (1u << 17)

/* IA32_VMX_EPT_VPID_CAP bits (SDM Vol. 3D A.10). */
#define EPT_CAP_PAGE_WALK_4               (1ull << 6)
#define EPT_CAP_MEMTYPE_WB                (1ull << 14)
#define EPT_CAP_LARGE_2M                  (1ull << 16)
#define EPT_CAP_INVEPT                    (1ull << 20)
#define EPT_CAP_ACCESSED_DIRTY            (1ull << 21)
#define VPID_CAP_INVVPID                  (1ull << 32)

struct vmx_msrs {
	bool cpuid_vmx;
	uint64_t basic;
	uint64_t pinbased;      /* TRUE_ variant when basic offers it */
	uint64_t procbased;
	uint64_t procbased2;    /* 0 when secondary controls cannot be activated */
	uint64_t ept_vpid_cap;  /* 0 when neither EPT nor VPID can be enabled */
};

struct vmx_features {
	bool vmx;
	bool ept;
	bool ept_ad;
	bool pml;
	bool unrestricted;
	bool vpid;
	bool preemption_timer;
};

/* Decodes what a control MSR allows set (its high half: the allowed-1 settings). */
static inline bool vmx_ctl_allows(uint64_t ctl_msr, uint32_t bit)
{
	return (uint32_t)(ctl_msr >> 32) & bit;
}

void vmx_caps_decode(const struct vmx_msrs *msrs, struct vmx_features *out);

/* Image only: reads CPUID and, when VMX exists, the capability MSRs. */
void vmx_caps_read(struct vmx_msrs *out);

#endif
