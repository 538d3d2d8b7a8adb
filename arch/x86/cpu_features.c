/* Comparing and printing CPUID feature masks; see cpu_features.h. */
#include "arch/x86/cpu_features.h"
#include "arch/x86/vcpu.h"
#include "kernel/lib/format.h"

#include <stddef.h>

/* The words of struct cpu_features, in order, with the names `format` prints. */
static const struct {
	const char *name;
	size_t offset;
} words[] = {
	{ "leaf1.ecx", offsetof(struct cpu_features, leaf1_ecx) },
	{ "leaf1.edx", offsetof(struct cpu_features, leaf1_edx) },
	{ "leaf7.ebx", offsetof(struct cpu_features, leaf7_ebx) },
	{ "leaf7.ecx", offsetof(struct cpu_features, leaf7_ecx) },
	{ "leaf7.edx", offsetof(struct cpu_features, leaf7_edx) },
	{ "ext1.ecx", offsetof(struct cpu_features, ext1_ecx) },
	{ "ext1.edx", offsetof(struct cpu_features, ext1_edx) },
	{ "xsave.eax", offsetof(struct cpu_features, xsave_eax) },
};
#define WORD_COUNT (sizeof(words) / sizeof(words[0]))
_Static_assert(WORD_COUNT == CPU_FEATURES_WORDS, "every word of struct cpu_features is named");

static uint32_t word(const struct cpu_features *f, unsigned i)
{
	return *(const uint32_t *)((const char *)f + words[i].offset);
}

bool cpu_features_subset(const struct cpu_features *need, const struct cpu_features *have,
			 struct cpu_features *missing)
{
	bool ok = true;

	for (unsigned i = 0; i < WORD_COUNT; i++) {
		uint32_t lack = word(need, i) & ~word(have, i);
		if (missing)
			*(uint32_t *)((char *)missing + words[i].offset) = lack;
		if (lack)
			ok = false;
	}
	return ok;
}

void cpu_features_format(const struct cpu_features *f, char *buf, unsigned size)
{
	size_t used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < WORD_COUNT && used < size; i++) {
		if (!word(f, i))
			continue;
		/* fmt_snprintf truncates and NUL-terminates; used past size ends the loop. */
		used += fmt_snprintf(buf + used, size - used, "%s%s=0x%08x", used ? " " : "",
				     words[i].name, word(f, i));
	}
}

const char *cpu_vendor_mismatch(uint32_t from, uint32_t here)
{
	if (from == VCPU_VENDOR_AMD && here == VCPU_VENDOR_INTEL)
		return "the guest ran on an AMD CPU (AMD-V); this host is Intel (VT-x)";
	if (from == VCPU_VENDOR_INTEL && here == VCPU_VENDOR_AMD)
		return "the guest ran on an Intel CPU (VT-x); this host is AMD (AMD-V)";
	return "the guest ran on a CPU of another vendor than this host's";
}

#define CRYSTAL_TARGET_HZ 25000000ull
#define HZ_PER_KHZ        1000ull
#define TSC_PER_TICK_MAX  0xffffu   /* the APIC model's bound (kernel/vdev/lapic.h) */

void cpuid_platform_for_tsc(uint64_t tsc_hz, struct cpuid_platform *out)
{
	uint64_t per_tick = (tsc_hz + CRYSTAL_TARGET_HZ / 2) / CRYSTAL_TARGET_HZ;

	if (per_tick == 0)
		per_tick = 1;
	if (per_tick > TSC_PER_TICK_MAX)
		per_tick = TSC_PER_TICK_MAX;
	uint64_t crystal_khz = (tsc_hz / per_tick + HZ_PER_KHZ / 2) / HZ_PER_KHZ;
	if (crystal_khz == 0)
		crystal_khz = 1;
	out->lapic = true;
	out->tsc_per_tick = (uint32_t)per_tick;
	out->crystal_hz = (uint32_t)(crystal_khz * HZ_PER_KHZ);
}
