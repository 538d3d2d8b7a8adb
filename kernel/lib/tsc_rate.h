/*
 * The TSC's rate from readings of a reference counter of known frequency (the ACPI PM
 * timer, 3.579545 MHz, 24 or 32 bits wide). Each reading is bracketed by two TSC reads:
 * its midpoint is when the counter was read, and its width how well that is known (a
 * thread descheduled between the reads, as an emulator's is on a busy host, widens it).
 * The caller keeps the narrowest of a few readings at each end of a window; the rate
 * is the TSC's ticks between the midpoints over the counter's (modulo its width).
 * Portable: unit tested on the host (tests/unit/test_tsc_rate.c).
 */
#ifndef FERRY_LIB_TSC_RATE_H
#define FERRY_LIB_TSC_RATE_H

#include <stddef.h>
#include <stdint.h>

struct tsc_reading {
	uint64_t tsc_before, tsc_after;
	uint32_t counter;
};

/* The TSC ticks a reading's two reads lie apart. */
static inline uint64_t tsc_reading_width(const struct tsc_reading *r)
{
	return r->tsc_after - r->tsc_before;
}

/* The counter's ticks from start to end, modulo 2^counter_bits (bits: 1..32). */
uint32_t tsc_counter_elapsed(uint32_t start, uint32_t end, unsigned counter_bits);

/* The TSC's rate in Hz between two readings of a counter at counter_hz; 0 when the
 * counter did not move or the TSC went backwards. */
uint64_t tsc_rate_hz(const struct tsc_reading *start, const struct tsc_reading *end,
		     unsigned counter_bits, uint64_t counter_hz);

/* The median of n rates (n >= 1; sorts them in place). */
uint64_t tsc_rate_median(uint64_t *rates, size_t n);

#endif
