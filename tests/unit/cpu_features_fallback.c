/*
 * Host-only fallbacks of cpu_features_subset() and cpu_features_format() for the
 * migration tests, as weak symbols: kernel/cpu_features.c (the VMX work) provides
 * the real ones, which win wherever they are linked. Delete this file once
 * kernel/cpu_features.c is in PORTABLE_SRCS.
 */
#ifdef FERRY_HOST
#include "kernel/cpu_features.h"
#include "kernel/lib/format.h"

#define WORDS 8

static void to_words(const struct cpu_features *f, uint32_t w[WORDS])
{
	w[0] = f->leaf1_ecx; w[1] = f->leaf1_edx; w[2] = f->leaf7_ebx; w[3] = f->leaf7_ecx;
	w[4] = f->leaf7_edx; w[5] = f->ext1_ecx; w[6] = f->ext1_edx; w[7] = f->xsave_eax;
}

__attribute__((weak)) bool cpu_features_subset(const struct cpu_features *need,
					       const struct cpu_features *have,
					       struct cpu_features *missing)
{
	uint32_t n[WORDS], h[WORDS];

	to_words(need, n);
	to_words(have, h);
	if (missing) {
		missing->leaf1_ecx = n[0] & ~h[0]; missing->leaf1_edx = n[1] & ~h[1];
		missing->leaf7_ebx = n[2] & ~h[2]; missing->leaf7_ecx = n[3] & ~h[3];
		missing->leaf7_edx = n[4] & ~h[4]; missing->ext1_ecx = n[5] & ~h[5];
		missing->ext1_edx = n[6] & ~h[6]; missing->xsave_eax = n[7] & ~h[7];
	}
	for (int i = 0; i < WORDS; i++)
		if (n[i] & ~h[i])
			return false;
	return true;
}

__attribute__((weak)) void cpu_features_format(const struct cpu_features *f, char *buf,
					       unsigned size)
{
	static const char *const names[WORDS] = { "leaf1.ecx", "leaf1.edx", "leaf7.ebx",
		"leaf7.ecx", "leaf7.edx", "ext1.ecx", "ext1.edx", "xsave.eax" };
	uint32_t w[WORDS];
	size_t used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	to_words(f, w);
	for (int i = 0; i < WORDS && used < size; i++)
		if (w[i])
			used += fmt_snprintf(buf + used, size - used, "%s%s=0x%08x", used ? " " : "",
					     names[i], w[i]);
}
#endif
