/* CPUID for guests; see cpuid_guest.h. Bit names (arch/x86/x86.h): SDM Vol. 2A, CPUID, tables 3-10, 3-11 and leaf 07H. */
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/x86.h"

#include <string.h>

/*
 * The baseline: plain integer, x87/SSE (FXSAVE state, which Ferry switches and
 * migrates), paging and SYSCALL/SYSENTER (whose MSRs Ferry emulates). Left
 * out: VMX/SMX, XSAVE/AVX (XSAVE state is not switched), the APIC and x2APIC,
 * MTRRs, machine checks, performance monitoring, PCID/INVPCID, RDTSCP and
 * TSC_AUX, TSX. The speculation controls of CPUID.7.EDX are not in the baseline:
 * a guest is shown what the host has of them (arch/x86/spec_ctrl.h decides,
 * synthesizing the Intel bits from AMD's Fn8000_0008 as KVM does).
 */
const struct cpu_features cpuid_baseline = {
	.leaf1_ecx = CPUID_1_ECX_SSE3 | CPUID_1_ECX_PCLMULQDQ | CPUID_1_ECX_SSSE3 | CPUID_1_ECX_CX16 |
		     CPUID_1_ECX_SSE41 | CPUID_1_ECX_SSE42 | CPUID_1_ECX_MOVBE | CPUID_1_ECX_POPCNT |
		     CPUID_1_ECX_AES | CPUID_1_ECX_RDRAND,
	.leaf1_edx = CPUID_1_EDX_FPU | CPUID_1_EDX_DE | CPUID_1_EDX_PSE | CPUID_1_EDX_TSC |
		     CPUID_1_EDX_MSR | CPUID_1_EDX_PAE | CPUID_1_EDX_CX8 | CPUID_1_EDX_SEP |
		     CPUID_1_EDX_PGE | CPUID_1_EDX_CMOV | CPUID_1_EDX_PAT | CPUID_1_EDX_PSE36 |
		     CPUID_1_EDX_CLFSH | CPUID_1_EDX_MMX | CPUID_1_EDX_FXSR | CPUID_1_EDX_SSE |
		     CPUID_1_EDX_SSE2,
	.leaf7_ebx = CPUID_7_EBX_FSGSBASE | CPUID_7_EBX_BMI1 | CPUID_7_EBX_SMEP | CPUID_7_EBX_BMI2 |
		     CPUID_7_EBX_ERMS | CPUID_7_EBX_RDSEED | CPUID_7_EBX_ADX | CPUID_7_EBX_SMAP |
		     CPUID_7_EBX_CLFLUSHOPT | CPUID_7_EBX_SHA,
	.leaf7_ecx = 0,
	.leaf7_edx = 0,
	.ext1_ecx = CPUID_EXT1_ECX_LAHF | CPUID_EXT1_ECX_ABM | CPUID_EXT1_ECX_PREFETCHW,
	.ext1_edx = CPUID_EXT1_EDX_SYSCALL | CPUID_EXT1_EDX_NX | CPUID_EXT1_EDX_PAGE1GB |
		    CPUID_EXT1_EDX_LM,
	.xsave_eax = 0,
};

#define LEAF_MAX_BASIC   CPUID_LEAF_XSAVE   /* the highest basic leaf a guest is shown */
#define LEAF1_EBX_KEEP   0x0000ffffu   /* brand index and CLFLUSH size; no APIC ID or logical count */

/* "FerryFerryHV" in EBX, ECX, EDX. */
#define HV_SIGNATURE_EBX 0x72726546u
#define HV_SIGNATURE_ECX 0x72654679u
#define HV_SIGNATURE_EDX 0x56487972u

void cpu_features_host(struct cpu_features *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t max = cpuid(CPUID_LEAF_VENDOR, 0).eax, ext_max = cpuid(CPUID_LEAF_EXT_MAX, 0).eax;
	struct cpuid_regs r = cpuid(CPUID_LEAF_FEATURES, 0);
	out->leaf1_ecx = r.ecx & cpuid_baseline.leaf1_ecx;
	out->leaf1_edx = r.edx & cpuid_baseline.leaf1_edx;
	if (max >= CPUID_LEAF_EXTENDED_7) {
		r = cpuid(CPUID_LEAF_EXTENDED_7, 0);
		out->leaf7_ebx = r.ebx & cpuid_baseline.leaf7_ebx;
		out->leaf7_ecx = r.ecx & cpuid_baseline.leaf7_ecx;
		out->leaf7_edx = (r.edx & cpuid_baseline.leaf7_edx) | spec_hw_policy()->guest_leaf7_edx;
	}
	if (ext_max >= CPUID_LEAF_EXT_FEATURES) {
		r = cpuid(CPUID_LEAF_EXT_FEATURES, 0);
		out->ext1_ecx = r.ecx & cpuid_baseline.ext1_ecx;
		out->ext1_edx = r.edx & cpuid_baseline.ext1_edx;
	}
	out->xsave_eax = 0;
}

struct cpuid_regs cpuid_guest(const struct cpu_features *mask, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs zero = { 0, 0, 0, 0 }, r;
	uint32_t ext_max = cpuid(CPUID_LEAF_EXT_MAX, 0).eax;

	if (leaf == CPUID_LEAF_HYPERVISOR)
		return (struct cpuid_regs){ CPUID_LEAF_HYPERVISOR, HV_SIGNATURE_EBX, HV_SIGNATURE_ECX,
					    HV_SIGNATURE_EDX };
	if (leaf >= CPUID_LEAF_EXT_MAX) {
		if (leaf > ext_max || leaf > CPUID_LEAF_ADDRESS_SIZES)
			return zero;
		r = cpuid(leaf, subleaf);
		if (leaf == CPUID_LEAF_EXT_MAX) {
			r.eax = ext_max < CPUID_LEAF_ADDRESS_SIZES ? ext_max : CPUID_LEAF_ADDRESS_SIZES;
		} else if (leaf == CPUID_LEAF_EXT_FEATURES) {
			r.eax = r.ebx = 0;
			r.ecx &= mask->ext1_ecx;
			r.edx &= mask->ext1_edx;
		} else if (leaf == CPUID_LEAF_ADDRESS_SIZES) {
			/* The address widths only: AMD puts core counts and speculation-control features in EBX-EDX. */
			r.ebx = r.ecx = r.edx = 0;
		} else if (leaf < CPUID_LEAF_BRAND_FIRST || leaf > CPUID_LEAF_BRAND_LAST) {
			return zero;
		}
		return r;
	}
	uint32_t max = cpuid(CPUID_LEAF_VENDOR, 0).eax;
	if (leaf > max)
		return zero;
	switch (leaf) {
	case CPUID_LEAF_VENDOR:
		r = cpuid(CPUID_LEAF_VENDOR, 0);
		r.eax = max < LEAF_MAX_BASIC ? max : LEAF_MAX_BASIC;
		return r;
	case CPUID_LEAF_FEATURES:
		r = cpuid(CPUID_LEAF_FEATURES, 0);
		r.ebx &= LEAF1_EBX_KEEP;
		r.ecx = (r.ecx & mask->leaf1_ecx) | CPUID_1_ECX_HYPERVISOR;
		r.edx &= mask->leaf1_edx;
		return r;
	case CPUID_LEAF_EXTENDED_7:
		if (subleaf != 0)
			return zero;
		r = cpuid(CPUID_LEAF_EXTENDED_7, 0);
		/* EDX from the mask alone: on AMD its speculation bits are synthesized, not the CPU's. */
		return (struct cpuid_regs){ 0, r.ebx & mask->leaf7_ebx, r.ecx & mask->leaf7_ecx,
					    mask->leaf7_edx };
	case CPUID_LEAF_XSAVE:
		return zero;   /* XSAVE is not offered */
	default:
		return zero;   /* caches, topology, power, PMU: nothing a guest of Ferry's needs */
	}
}

uint64_t cpuid_guest_cr4_allowed(void)
{
	struct cpu_features host;
	uint64_t allowed = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;

	cpu_features_host(&host);
	if (host.leaf7_ebx & CPUID_7_EBX_FSGSBASE)
		allowed |= CR4_FSGSBASE;
	if (host.leaf7_ebx & CPUID_7_EBX_SMEP)
		allowed |= CR4_SMEP;
	if (host.leaf7_ebx & CPUID_7_EBX_SMAP)
		allowed |= CR4_SMAP;
	return allowed;
}
