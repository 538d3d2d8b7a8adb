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
 * What a guest of Ferry's Linux platform (kernel/vdev/platform.h) is shown on top of
 * its mask (arch/x86/cpuid_guest.c): the local APIC in xAPIC mode (CPUID.1:EDX.APIC,
 * never x2APIC), its TSC-deadline timer (CPUID.1:ECX[24]), ARAT (CPUID.6:EAX[2]:
 * without it Linux wants a PIT), and the TSC's rate: leaf 15H says TSC = crystal x
 * tsc_per_tick (EAX = 1, EBX = tsc_per_tick, ECX = crystal_hz; Linux takes both the TSC
 * rate and the APIC timer's period from it, so it needs no PIT to calibrate), leaf 16H
 * the same in MHz. The crystal is also the APIC timer's input clock in the model
 * (kernel/vdev/lapic.h: one tick is tsc_per_tick guest TSC cycles). Not part of the
 * mask: the platform is emulated, not the host's, and a migration recreates it.
 */
struct cpuid_platform {
	bool lapic;              /* false: no platform (the ELF test guests) */
	uint32_t tsc_per_tick;   /* TSC cycles per crystal cycle, 1..65535 */
	uint32_t crystal_hz;     /* a whole number of kHz */
};

/* The crystal for a TSC of tsc_hz: near 25 MHz (a common crystal, as on Intel client
 * parts), a whole number of kHz (Linux reads it in kHz), so that crystal x tsc_per_tick
 * is within 500 Hz x tsc_per_tick (20 ppm at 25 MHz) of tsc_hz. */
void cpuid_platform_for_tsc(uint64_t tsc_hz, struct cpuid_platform *out);

/*
 * True when `have` offers every bit of `need`; otherwise fills *missing (may be
 * NULL) with the bits that `have` lacks.
 */
bool cpu_features_subset(const struct cpu_features *need, const struct cpu_features *have,
			 struct cpu_features *missing);

/*
 * Writes "leaf1.ecx=0x... ..." naming only the non-zero words of f into buf; the text is at
 * most CPU_FEATURES_TEXT_MAX characters (every word named: a name of at most 9 characters,
 * "=0x", 8 digits and a space between).
 */
#define CPU_FEATURES_WORDS 8
#define CPU_FEATURES_TEXT_MAX (CPU_FEATURES_WORDS * (9 + 3 + 8 + 1) - 1)
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
