/*
 * entropy_fill() for the image: RDSEED when the CPU has it (CPUID.(EAX=07H,ECX=0):
 * EBX bit 18), else RDRAND (CPUID.01H:ECX bit 30), each retried a few times as the
 * SDM advises (Vol. 1 7.3.17: a read may fail transiently, CF=0). Every word is
 * mixed with the TSC so that a stuck generator is not silently fatal on its own; with
 * neither instruction the call fails rather than hand out predictable nonces.
 */
#include "kernel/migration/entropy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernel/lib/errors.h"

#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18)
#define ENTROPY_RETRIES 32

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

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

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int entropy_fill(void *buf, size_t len)
{
	uint32_t a, b, c, d, max_leaf;
	bool have_seed = false, have_rand;
	uint8_t *p = buf;

	cpuid(0, 0, &max_leaf, &b, &c, &d);
	cpuid(1, 0, &a, &b, &c, &d);
	have_rand = c & CPUID1_ECX_RDRAND;
	if (max_leaf >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		have_seed = b & CPUID7_EBX_RDSEED;
	}
	if (!have_seed && !have_rand)
		return FERR_NOTSUP;
	while (len) {
		uint64_t word;
		bool ok = (have_seed && rdseed64(&word)) || (have_rand && rdrand64(&word));
		if (!ok)
			return FERR_NOTSUP;
		word ^= rdtsc() * 0x9e3779b97f4a7c15ull;
		size_t n = len < sizeof(word) ? len : sizeof(word);
		memcpy(p, &word, n);
		p += n;
		len -= n;
	}
	return 0;
}
