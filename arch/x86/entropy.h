/*
 * The image's source of unpredictable bytes (arch/x86/entropy.c).
 *
 * Sources, best first: RDSEED (CPUID.(EAX=07H,ECX=0):EBX bit 18), RDRAND
 * (CPUID.01H:ECX bit 30), and CPU timing jitter for CPUs with neither (QEMU's
 * default model, older servers). entropy_init() health-checks them at boot and
 * picks the first that passes; every hardware word is checked again as it is
 * used (entropy_health.h: all ones, all zeros, a repeat) and a source that fails
 * is dropped for the next one, with the reason and the fallback in the kernel log
 * (`dmesg`). Whatever the source, 256 raw bits go through BLAKE2s for each 32
 * bytes handed out. With no healthy source entropy_fill() fails rather than hand
 * out predictable bytes.
 *
 * entropy_random() is the fast path for frequent small needs (lwIP's random
 * numbers, ephemeral ports, the ISN secret): a csprng.h generator seeded from
 * entropy_fill() and reseeded after every CSPRNG_RESEED_BYTES.
 *
 * Image only. Not reentrant (Ferry's single poller).
 */
#ifndef FERRY_ARCH_X86_ENTROPY_H
#define FERRY_ARCH_X86_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>

enum entropy_source {
	ENTROPY_NONE,
	ENTROPY_JITTER,
	ENTROPY_RDRAND,
	ENTROPY_RDSEED,
};

/* Checks the sources and picks the best healthy one, saying which in the log; idempotent. */
void entropy_init(void);

/* Fills buf with len unpredictable bytes; 0, or FERR_NOTSUP when no source is healthy. */
int entropy_fill(void *buf, size_t len);

/* The same from the fast seeded generator; FERR_NOTSUP when it cannot be seeded. */
int entropy_random(void *buf, size_t len);

/* What `info` shows. */
struct entropy_status {
	enum entropy_source source;       /* in use now */
	bool cpu_rdseed, cpu_rdrand;      /* what the CPU enumerates */
	unsigned fallbacks;               /* sources dropped since boot */
	const char *last_failure;         /* why the last one was dropped, or NULL */
};
void entropy_get_status(struct entropy_status *out);
const char *entropy_source_name(enum entropy_source source);

#endif
