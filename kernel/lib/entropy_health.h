/*
 * Health tests and conditioning for raw entropy (arch/x86/entropy.c feeds them;
 * the logic is here so that it is portable and unit tested).
 *
 * Hardware words (RDSEED, RDRAND: 64 bits each, meant to be full entropy or a
 * DRBG's output): a word that is all ones or all zeros, or equal to the word
 * before it, fails. Each has a chance of 2^-64 from a working generator, and each
 * is what a broken one does: some AMD CPUs returned all ones from RDRAND after a
 * resume, and a stuck generator repeats itself. One failure is enough to stop
 * trusting the source.
 *
 * CPU timing jitter (when the CPU has neither instruction): a sample is the TSC
 * after a stretch of memory accesses whose timing varies with caches, the memory
 * bus and (in an emulator) the host. As in Linux's jitter entropy (and its
 * SP 800-90B tests), the delta between samples and its first and second
 * differences are checked: a sample where any of them is 0 is "stuck" and
 * credited nothing (it is still mixed in). JITTER_RCT_CUTOFF stuck samples in a
 * row fail the source (repetition count test). Every sample is absorbed into
 * BLAKE2s; a 32-byte output is ready once JITTER_SAMPLES_PER_OUTPUT non-stuck
 * samples were absorbed: credited at half a bit each, twice the 256 bits out.
 *
 * Portable (image and host); no allocation.
 */
#ifndef FERRY_LIB_ENTROPY_HEALTH_H
#define FERRY_LIB_ENTROPY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/blake2s.h"

/* ---- hardware words ------------------------------------------------------------------ */

struct entropy_word_check {
	uint64_t last;
	bool have_last;
};

/* Checks the next word of a hardware source; NULL when healthy, else why not. */
const char *entropy_word_check(struct entropy_word_check *c, uint64_t word);

/* ---- timing jitter ---------------------------------------------------------------------- */

#define JITTER_SAMPLES_PER_OUTPUT 512      /* non-stuck samples per 32 bytes out */
#define JITTER_RCT_CUTOFF 32               /* stuck samples in a row that fail the source */
#define JITTER_OUTPUT_BYTES BLAKE2S_OUT_BYTES

struct jitter_pool {
	struct blake2s hash;
	uint64_t last_time;
	uint64_t last_delta, last_delta2;
	unsigned samples;                  /* samples absorbed since the last output */
	unsigned credited;                 /* non-stuck among them */
	unsigned stuck_run;                /* stuck samples in a row */
	uint64_t stuck_total, samples_total;
	bool primed;                       /* a first time is known */
	bool failed;                       /* the repetition count test failed: never output again */
};

void jitter_pool_init(struct jitter_pool *p);
/* Absorbs one TSC reading; returns false once the pool has failed. */
bool jitter_pool_add(struct jitter_pool *p, uint64_t time);
/* True when an output is ready (enough credited samples, not failed). */
bool jitter_pool_ready(const struct jitter_pool *p);
/* Writes JITTER_OUTPUT_BYTES and starts the next output (chained to this one); only when ready. */
void jitter_pool_output(struct jitter_pool *p, uint8_t out[JITTER_OUTPUT_BYTES]);

#endif
