/*
 * CPU features a guest sees through CPUID, as words of the CPUID leaves that
 * carry feature flags. A guest's mask is fixed at creation and travels with it
 * in a migration: the destination must offer every bit of it.
 *
 * Portable (image and host).
 */
#ifndef FERRY_CPU_FEATURES_H
#define FERRY_CPU_FEATURES_H

#include <stdbool.h>
#include <stdint.h>

struct cpu_features {
	uint32_t leaf1_ecx, leaf1_edx;          /* CPUID.01H */
	uint32_t leaf7_ebx, leaf7_ecx, leaf7_edx;  /* CPUID.(EAX=07H,ECX=0) */
	uint32_t ext1_ecx, ext1_edx;            /* CPUID.80000001H */
	uint32_t xsave_eax;                     /* CPUID.(EAX=0DH,ECX=0).EAX: XCR0 bits supported */
};

/*
 * True when `have` offers every bit of `need`; otherwise fills *missing (may be
 * NULL) with the bits that `have` lacks.
 */
bool cpu_features_subset(const struct cpu_features *need, const struct cpu_features *have,
			 struct cpu_features *missing);

/* Writes "leaf1.ecx=0x... ..." naming only the non-zero words of f into buf. */
void cpu_features_format(const struct cpu_features *f, char *buf, unsigned size);

/* The features this host's CPU can give a guest (its own, under Ferry's baseline). */
void cpu_features_host(struct cpu_features *out);

/*
 * Why a guest that ran on a CPU of vendor `from` cannot run on one of vendor
 * `here` (enum vcpu_vendor, arch/x86/vcpu.h), naming both: the guest has seen
 * one vendor's CPUID, and each vendor's virtualization keeps state the other's
 * cannot express. A saved state and a migration offer are refused with it.
 */
const char *cpu_vendor_mismatch(uint32_t from, uint32_t here);

#endif
