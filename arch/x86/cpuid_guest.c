/* CPUID for guests; see cpuid_guest.h. Bit names: SDM Vol. 2A, CPUID, tables 3-10, 3-11 and leaf 07H. */
#include "arch/x86/cpuid_guest.h"

#include <string.h>

#define BIT(n) (1u << (n))

/* CPUID.01H:ECX */
#define L1C_SSE3 BIT(0)
#define L1C_PCLMULQDQ BIT(1)
#define L1C_SSSE3 BIT(9)
#define L1C_CX16 BIT(13)
#define L1C_SSE41 BIT(19)
#define L1C_SSE42 BIT(20)
#define L1C_MOVBE BIT(22)
#define L1C_POPCNT BIT(23)
#define L1C_AES BIT(25)
#define L1C_RDRAND BIT(30)
#define L1C_HYPERVISOR BIT(31)
/* CPUID.01H:EDX */
#define L1D_FPU BIT(0)
#define L1D_DE BIT(2)
#define L1D_PSE BIT(3)
#define L1D_TSC BIT(4)
#define L1D_MSR BIT(5)
#define L1D_PAE BIT(6)
#define L1D_CX8 BIT(8)
#define L1D_SEP BIT(11)
#define L1D_PGE BIT(13)
#define L1D_CMOV BIT(15)
#define L1D_PAT BIT(16)
#define L1D_PSE36 BIT(17)
#define L1D_CLFSH BIT(19)
#define L1D_MMX BIT(23)
#define L1D_FXSR BIT(24)
#define L1D_SSE BIT(25)
#define L1D_SSE2 BIT(26)
/* CPUID.(07H,0):EBX */
#define L7B_FSGSBASE BIT(0)
#define L7B_BMI1 BIT(3)
#define L7B_SMEP BIT(7)
#define L7B_BMI2 BIT(8)
#define L7B_ERMS BIT(9)
#define L7B_RDSEED BIT(18)
#define L7B_ADX BIT(19)
#define L7B_SMAP BIT(20)
#define L7B_CLFLUSHOPT BIT(23)
#define L7B_SHA BIT(29)
/* CPUID.80000001H */
#define E1C_LAHF BIT(0)
#define E1C_ABM BIT(5)
#define E1C_PREFETCHW BIT(8)
#define E1D_SYSCALL BIT(11)
#define E1D_NX BIT(20)
#define E1D_PAGE1GB BIT(26)
#define E1D_LM BIT(29)

/*
 * The baseline: plain integer, x87/SSE (FXSAVE state, which Ferry switches and
 * migrates), paging and SYSCALL/SYSENTER (whose MSRs Ferry emulates). Left
 * out: VMX/SMX, XSAVE/AVX (XSAVE state is not switched), the APIC and x2APIC,
 * MTRRs, machine checks, performance monitoring, PCID/INVPCID, RDTSCP and
 * TSC_AUX, TSX, and every speculation-control MSR.
 */
const struct cpu_features cpuid_baseline = {
	.leaf1_ecx = L1C_SSE3 | L1C_PCLMULQDQ | L1C_SSSE3 | L1C_CX16 | L1C_SSE41 | L1C_SSE42 |
		     L1C_MOVBE | L1C_POPCNT | L1C_AES | L1C_RDRAND,
	.leaf1_edx = L1D_FPU | L1D_DE | L1D_PSE | L1D_TSC | L1D_MSR | L1D_PAE | L1D_CX8 | L1D_SEP |
		     L1D_PGE | L1D_CMOV | L1D_PAT | L1D_PSE36 | L1D_CLFSH | L1D_MMX | L1D_FXSR |
		     L1D_SSE | L1D_SSE2,
	.leaf7_ebx = L7B_FSGSBASE | L7B_BMI1 | L7B_SMEP | L7B_BMI2 | L7B_ERMS | L7B_RDSEED |
		     L7B_ADX | L7B_SMAP | L7B_CLFLUSHOPT | L7B_SHA,
	.leaf7_ecx = 0,
	.leaf7_edx = 0,
	.ext1_ecx = E1C_LAHF | E1C_ABM | E1C_PREFETCHW,
	.ext1_edx = E1D_SYSCALL | E1D_NX | E1D_PAGE1GB | E1D_LM,
	.xsave_eax = 0,
};

#define LEAF_MAX_BASIC   0x0du
#define LEAF_FEATURES    0x01u
#define LEAF_EXTENDED_7  0x07u
#define LEAF_XSAVE       0x0du
#define LEAF_EXT_MAX     0x80000000u
#define LEAF_EXT_FEATURES 0x80000001u
#define LEAF_BRAND_FIRST 0x80000002u
#define LEAF_BRAND_LAST  0x80000004u
#define LEAF_ADDRESS_SIZES 0x80000008u
#define LEAF1_EBX_KEEP   0x0000ffffu   /* brand index and CLFLUSH size; no APIC ID or logical count */

/* "FerryFerryHV" in EBX, ECX, EDX. */
#define HV_SIGNATURE_EBX 0x72726546u
#define HV_SIGNATURE_ECX 0x72654679u
#define HV_SIGNATURE_EDX 0x56487972u

void cpu_features_host(struct cpu_features *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t max = cpuid(0, 0).eax, ext_max = cpuid(LEAF_EXT_MAX, 0).eax;
	struct cpuid_regs r = cpuid(LEAF_FEATURES, 0);
	out->leaf1_ecx = r.ecx & cpuid_baseline.leaf1_ecx;
	out->leaf1_edx = r.edx & cpuid_baseline.leaf1_edx;
	if (max >= LEAF_EXTENDED_7) {
		r = cpuid(LEAF_EXTENDED_7, 0);
		out->leaf7_ebx = r.ebx & cpuid_baseline.leaf7_ebx;
		out->leaf7_ecx = r.ecx & cpuid_baseline.leaf7_ecx;
		out->leaf7_edx = r.edx & cpuid_baseline.leaf7_edx;
	}
	if (ext_max >= LEAF_EXT_FEATURES) {
		r = cpuid(LEAF_EXT_FEATURES, 0);
		out->ext1_ecx = r.ecx & cpuid_baseline.ext1_ecx;
		out->ext1_edx = r.edx & cpuid_baseline.ext1_edx;
	}
	out->xsave_eax = 0;
}

struct cpuid_regs cpuid_guest(const struct cpu_features *mask, uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs zero = { 0, 0, 0, 0 }, r;
	uint32_t ext_max = cpuid(LEAF_EXT_MAX, 0).eax;

	if (leaf == CPUID_HYPERVISOR_LEAF)
		return (struct cpuid_regs){ CPUID_HYPERVISOR_LEAF, HV_SIGNATURE_EBX, HV_SIGNATURE_ECX,
					    HV_SIGNATURE_EDX };
	if (leaf >= LEAF_EXT_MAX) {
		if (leaf > ext_max || leaf > LEAF_ADDRESS_SIZES)
			return zero;
		r = cpuid(leaf, subleaf);
		if (leaf == LEAF_EXT_MAX) {
			r.eax = ext_max < LEAF_ADDRESS_SIZES ? ext_max : LEAF_ADDRESS_SIZES;
		} else if (leaf == LEAF_EXT_FEATURES) {
			r.eax = r.ebx = 0;
			r.ecx &= mask->ext1_ecx;
			r.edx &= mask->ext1_edx;
		} else if (leaf < LEAF_BRAND_FIRST || (leaf > LEAF_BRAND_LAST && leaf != LEAF_ADDRESS_SIZES)) {
			return zero;
		}
		return r;
	}
	uint32_t max = cpuid(0, 0).eax;
	if (leaf > max)
		return zero;
	switch (leaf) {
	case 0:
		r = cpuid(0, 0);
		r.eax = max < LEAF_MAX_BASIC ? max : LEAF_MAX_BASIC;
		return r;
	case LEAF_FEATURES:
		r = cpuid(LEAF_FEATURES, 0);
		r.ebx &= LEAF1_EBX_KEEP;
		r.ecx = (r.ecx & mask->leaf1_ecx) | L1C_HYPERVISOR;
		r.edx &= mask->leaf1_edx;
		return r;
	case LEAF_EXTENDED_7:
		if (subleaf != 0)
			return zero;
		r = cpuid(LEAF_EXTENDED_7, 0);
		return (struct cpuid_regs){ 0, r.ebx & mask->leaf7_ebx, r.ecx & mask->leaf7_ecx,
					    r.edx & mask->leaf7_edx };
	case LEAF_XSAVE:
		return zero;   /* XSAVE is not offered */
	default:
		return zero;   /* caches, topology, power, PMU: nothing a guest of Ferry's needs */
	}
}

#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

uint64_t cpuid_guest_cr4_allowed(void)
{
	struct cpu_features host;
	uint64_t allowed = CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;

	cpu_features_host(&host);
	if (host.leaf7_ebx & L7B_FSGSBASE)
		allowed |= CR4_FSGSBASE;
	if (host.leaf7_ebx & L7B_SMEP)
		allowed |= CR4_SMEP;
	if (host.leaf7_ebx & L7B_SMAP)
		allowed |= CR4_SMAP;
	return allowed;
}
