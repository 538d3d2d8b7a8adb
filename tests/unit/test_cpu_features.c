/* Host tests of CPUID feature masks (arch/x86/cpu_features.c). */
#include "check.h"
#include "arch/x86/cpu_features.h"

#include <string.h>

TEST(subset_and_missing_bits)
{
	struct cpu_features need = { .leaf1_ecx = 0x3, .leaf7_ebx = 0x100, .ext1_edx = 1u << 29 };
	struct cpu_features have = need, missing;

	CHECK(cpu_features_subset(&need, &have, &missing));
	CHECK_EQ_U(missing.leaf1_ecx | missing.leaf7_ebx | missing.ext1_edx, 0);
	have.leaf1_ecx = 0x1;
	have.xsave_eax = 0xff;   /* extra features on the host are fine */
	CHECK(!cpu_features_subset(&need, &have, &missing));
	CHECK_EQ_U(missing.leaf1_ecx, 0x2);
	CHECK_EQ_U(missing.leaf7_ebx, 0);
	CHECK_EQ_U(missing.xsave_eax, 0);
	CHECK(!cpu_features_subset(&need, &have, NULL));
	struct cpu_features none = { 0 };
	CHECK(cpu_features_subset(&none, &none, NULL));
	for (unsigned w = 0; w < sizeof(need) / 4; w++) {   /* every word counts */
		struct cpu_features n = { 0 }, h = { 0 };
		((uint32_t *)&n)[w] = 0x80000000u;
		CHECK(!cpu_features_subset(&n, &h, NULL));
	}
}

TEST(format_names_nonzero_words)
{
	struct cpu_features f = { .leaf1_edx = 0x178bfbff, .ext1_ecx = 0x21 };
	char buf[200];

	cpu_features_format(&f, buf, sizeof(buf));
	CHECK_STR(buf, "leaf1.edx=0x178bfbff ext1.ecx=0x00000021");
	struct cpu_features none = { 0 };
	cpu_features_format(&none, buf, sizeof(buf));
	CHECK_STR(buf, "");
}

TEST(every_word_named_fits_the_stated_maximum)
{
	struct cpu_features all;
	char buf[CPU_FEATURES_TEXT_MAX + 2];

	memset(&all, 0xff, sizeof(all));
	cpu_features_format(&all, buf, sizeof(buf));
	/* Two names are 8 characters: 165 of the 167 the bound allows. */
	CHECK_EQ_U(strlen(buf), CPU_FEATURES_TEXT_MAX - 2);
	CHECK(strstr(buf, "leaf1.ecx=0xffffffff ") == buf);
	CHECK(strcmp(buf + strlen(buf) - 20, "xsave.eax=0xffffffff") == 0);
}

TEST(format_truncates_safely)
{
	struct cpu_features f = { 1, 2, 3, 4, 5, 6, 7, 8 };
	char buf[30];

	memset(buf, 'x', sizeof(buf));
	cpu_features_format(&f, buf, sizeof(buf));
	CHECK_EQ_U(strlen(buf), sizeof(buf) - 1);
	CHECK(strncmp(buf, "leaf1.ecx=0x00000001 leaf1.ed", 29) == 0);
	cpu_features_format(&f, buf, 1);
	CHECK_STR(buf, "");
}

int main(void)
{
	return run_tests();
}
