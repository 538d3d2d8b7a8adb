/*
 * The CPUID a guest sees (docs/vmx.md, "CPUID baseline"): the host's answers
 * masked to the features Ferry can virtualise and carry through a migration,
 * with the hypervisor bit set and VMX and SVM hidden; the vendor string and the
 * extended leaves (80000000h-80000008h) are the host's, so the same policy serves
 * Intel and AMD hosts. Image only.
 */
#ifndef FERRY_ARCH_X86_CPUID_GUEST_H
#define FERRY_ARCH_X86_CPUID_GUEST_H

#include <stdint.h>

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_features.h"

/* Ferry's baseline: every feature bit it may show a guest. */
extern const struct cpu_features cpuid_baseline;

/* The answer to CPUID(leaf, subleaf) for a guest whose mask is `mask`. */
struct cpuid_regs cpuid_guest(const struct cpu_features *mask, uint32_t leaf, uint32_t subleaf);

/* CR4 bits a guest may set, given the baseline (the host's support is applied by vmx.c). */
uint64_t cpuid_guest_cr4_allowed(void);

#endif
