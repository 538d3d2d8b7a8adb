/*
 * entropy_fill() and its sources (entropy.h). RDSEED and RDRAND are retried a few
 * times when they report no data (CF=0), as the SDM advises (Vol. 1 7.3.17: a read
 * may fail transiently); a source that keeps failing, or whose words fail the
 * health check (kernel/lib/entropy_health.h), is dropped for the next. Timing
 * jitter is sampled around memory accesses over a small buffer whose walk depends
 * on the previous sample, so that caches and the memory bus shape each delta.
 */
#include "arch/x86/entropy.h"

#include <stdint.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"
#include "kernel/lib/blake2s.h"
#include "kernel/lib/csprng.h"
#include "kernel/lib/entropy_health.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/wipe.h"
#include "kernel/log.h"

#define HW_RETRIES 32
/* Words read at boot to check a hardware source before it is trusted. */
#define HW_STARTUP_WORDS 16
/* Raw hardware words behind each 32 bytes handed out: 256 bits. */
#define HW_WORDS_PER_OUTPUT (BLAKE2S_OUT_BYTES / sizeof(uint64_t))

/* The jitter sampler: memory walked between two TSC readings. */
#define JITTER_NOISE_BYTES 16384u
#define JITTER_NOISE_STEPS 64
#define JITTER_STRIDE_BASE 67u           /* odd, not a cache-line multiple */
/* Samples allowed for one output before the source counts as too slow to trust. */
#define JITTER_MAX_SAMPLES_PER_OUTPUT (8 * JITTER_SAMPLES_PER_OUTPUT)

static uint8_t jitter_noise[JITTER_NOISE_BYTES];
static struct jitter_pool jitter;
static struct entropy_word_check word_check;
static struct csprng fast;
static enum entropy_source current = ENTROPY_NONE;
static bool initialized, cpu_rdseed, cpu_rdrand;
static unsigned fallbacks;
static const char *last_failure;

const char *entropy_source_name(enum entropy_source source)
{
	switch (source) {
	case ENTROPY_RDSEED:
		return "rdseed";
	case ENTROPY_RDRAND:
		return "rdrand";
	case ENTROPY_JITTER:
		return "jitter";
	case ENTROPY_NONE:
		break;
	}
	return "none";
}

/* ---- hardware -------------------------------------------------------------------------- */

static bool rdseed64(uint64_t *out)
{
	for (int i = 0; i < HW_RETRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*out), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

static bool rdrand64(uint64_t *out)
{
	for (int i = 0; i < HW_RETRIES; i++) {
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

/* One checked word of the current hardware source; NULL, or why the source failed. */
static const char *hw_word(uint64_t *out)
{
	bool ok = current == ENTROPY_RDSEED ? rdseed64(out) : rdrand64(out);

	if (!ok)
		return "reported no data 32 times in a row";
	return entropy_word_check(&word_check, *out);
}

/* ---- jitter ------------------------------------------------------------------------------ */

static uint64_t jitter_sample(uint64_t walk)
{
	uint32_t at = (uint32_t)walk;

	for (unsigned i = 0; i < JITTER_NOISE_STEPS; i++) {
		at = (at + JITTER_STRIDE_BASE + (uint32_t)(walk >> (i % 32))) % JITTER_NOISE_BYTES;
		jitter_noise[at] += (uint8_t)(walk + i);
	}
	return rdtsc();
}

/* Collects one jitter output; NULL, or why the source failed. */
static const char *jitter_block(uint8_t out[JITTER_OUTPUT_BYTES])
{
	uint64_t t = rdtsc();

	for (unsigned n = 0; !jitter_pool_ready(&jitter); n++) {
		if (n == JITTER_MAX_SAMPLES_PER_OUTPUT)
			return "timings too regular (too few samples changed)";
		t = jitter_sample(t);
		if (!jitter_pool_add(&jitter, t))
			return "timings stopped changing (repetition count test)";
	}
	jitter_pool_output(&jitter, out);
	return NULL;
}

/* ---- choosing a source ---------------------------------------------------------------------- */

static void start_source(enum entropy_source s)
{
	current = s;
	memset(&word_check, 0, sizeof(word_check));
	if (s == ENTROPY_JITTER)
		jitter_pool_init(&jitter);
}

static enum entropy_source next_source(enum entropy_source s)
{
	if (s == ENTROPY_RDSEED && cpu_rdrand)
		return ENTROPY_RDRAND;
	if (s == ENTROPY_RDSEED || s == ENTROPY_RDRAND)
		return ENTROPY_JITTER;
	return ENTROPY_NONE;
}

/* The current source failed: drop it for the next, and say so. */
static void fall_back(const char *why)
{
	enum entropy_source next = next_source(current);

	fallbacks++;
	last_failure = why;
	if (next == ENTROPY_NONE)
		klog_error("entropy: %s %s; no source left: migrations and keygen are refused",
			   entropy_source_name(current), why);
	else
		klog_warn("entropy: %s %s; falling back to %s", entropy_source_name(current), why,
			  entropy_source_name(next));
	start_source(next);
}

/* Checks the current source as at boot; NULL, or why it failed. */
static const char *startup_test(void)
{
	uint8_t block[JITTER_OUTPUT_BYTES];
	const char *why = NULL;
	uint64_t word;

	if (current == ENTROPY_JITTER) {
		why = jitter_block(block);
	} else {
		for (unsigned i = 0; i < HW_STARTUP_WORDS && !why; i++)
			why = hw_word(&word);
	}
	secure_wipe(block, sizeof(block));
	secure_wipe(&word, sizeof(word));
	return why;
}

void entropy_init(void)
{
	uint32_t max_leaf;
	const char *why;

	if (initialized)
		return;
	initialized = true;
	max_leaf = cpuid(CPUID_LEAF_VENDOR, 0).eax;
	cpu_rdrand = cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_RDRAND;
	cpu_rdseed = max_leaf >= CPUID_LEAF_EXTENDED_7 &&
		     (cpuid(CPUID_LEAF_EXTENDED_7, 0).ebx & CPUID_7_EBX_RDSEED);
	start_source(cpu_rdseed ? ENTROPY_RDSEED : cpu_rdrand ? ENTROPY_RDRAND : ENTROPY_JITTER);
	if (current == ENTROPY_JITTER)
		klog_info("entropy: the CPU has neither RDSEED nor RDRAND; trying CPU timing jitter");
	while (current != ENTROPY_NONE && (why = startup_test()) != NULL)
		fall_back(why);
	if (current != ENTROPY_NONE)
		klog_info("entropy: source %s (health checked; conditioned with BLAKE2s)",
			  entropy_source_name(current));
}

/* 32 conditioned bytes from the current source, falling back as sources fail. */
static int output_block(uint8_t out[BLAKE2S_OUT_BYTES])
{
	while (current != ENTROPY_NONE) {
		const char *why = NULL;
		if (current == ENTROPY_JITTER) {
			why = jitter_block(out);
		} else {
			struct blake2s h;
			uint64_t words[HW_WORDS_PER_OUTPUT];
			for (unsigned i = 0; i < HW_WORDS_PER_OUTPUT && !why; i++)
				why = hw_word(&words[i]);
			if (!why) {
				blake2s_init(&h, BLAKE2S_OUT_BYTES, NULL, 0);
				blake2s_update(&h, words, sizeof(words));
				blake2s_final(&h, out);
			}
			secure_wipe(words, sizeof(words));
		}
		if (!why)
			return 0;
		fall_back(why);
	}
	return FERR_NOTSUP;
}

int entropy_fill(void *buf, size_t len)
{
	uint8_t block[BLAKE2S_OUT_BYTES];
	uint8_t *p = buf;
	int err = 0;

	entropy_init();
	while (len && !err) {
		err = output_block(block);
		size_t n = len < sizeof(block) ? len : sizeof(block);
		if (!err)
			memcpy(p, block, n);
		p += n;
		len -= n;
	}
	secure_wipe(block, sizeof(block));
	return err;
}

int entropy_random(void *buf, size_t len)
{
	if (csprng_needs_seed(&fast)) {
		uint8_t seed[CSPRNG_KEY_BYTES];
		int err = entropy_fill(seed, sizeof(seed));
		if (err)
			return err;
		csprng_seed(&fast, seed);
		secure_wipe(seed, sizeof(seed));
	}
	csprng_fill(&fast, buf, len);
	return 0;
}

void entropy_get_status(struct entropy_status *out)
{
	entropy_init();
	out->source = current;
	out->cpu_rdseed = cpu_rdseed;
	out->cpu_rdrand = cpu_rdrand;
	out->fallbacks = fallbacks;
	out->last_failure = last_failure;
}
