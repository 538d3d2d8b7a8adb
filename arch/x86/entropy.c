/*
 * entropy_fill() (entropy.h): RDSEED when the CPU has it (CPUID.(EAX=07H,ECX=0):
 * EBX bit 18), else RDRAND (CPUID.01H:ECX bit 30), each retried a few times as the
 * SDM advises (Vol. 1 7.3.17: a read may fail transiently, CF=0). Every word is
 * mixed with the TSC so that a stuck generator is not silently fatal on its own; with
 * neither instruction the call fails rather than hand out predictable nonces.
 */
#include "arch/x86/entropy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "kernel/lib/errors.h"

#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18)
#define ENTROPY_RETRIES 32
/* 2^64 divided by the golden ratio: an odd multiplier that spreads the TSC's low bits. */
#define TSC_MIX_MULTIPLIER 0x9e3779b97f4a7c15ull

static bool rdseed64(uint64_t *out)
{
	for (int i = 0; i < ENTROPY_RETRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*out), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

static bool rdrand64(uint64_t *out)
{
	for (int i = 0; i < ENTROPY_RETRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

int entropy_fill(void *buf, size_t len)
{
	uint32_t max_leaf = cpuid(0, 0).eax;
	bool have_rand = cpuid(1, 0).ecx & CPUID1_ECX_RDRAND;
	bool have_seed = max_leaf >= 7 && (cpuid(7, 0).ebx & CPUID7_EBX_RDSEED);
	uint8_t *p = buf;

	if (!have_seed && !have_rand)
		return FERR_NOTSUP;
	while (len) {
		uint64_t word;
		bool ok = (have_seed && rdseed64(&word)) || (have_rand && rdrand64(&word));
		if (!ok)
			return FERR_NOTSUP;
		word ^= rdtsc() * TSC_MIX_MULTIPLIER;
		size_t n = len < sizeof(word) ? len : sizeof(word);
		memcpy(p, &word, n);
		p += n;
		len -= n;
	}
	return 0;
}
