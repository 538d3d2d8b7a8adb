/* The TSC's rate from bracketed readings of a reference counter; see tsc_rate.h. */
#include "kernel/lib/tsc_rate.h"

#define COUNTER_BITS_MAX 32u

uint32_t tsc_counter_elapsed(uint32_t start, uint32_t end, unsigned counter_bits)
{
	uint32_t mask = counter_bits >= COUNTER_BITS_MAX ? UINT32_MAX : (1u << counter_bits) - 1;

	return (end - start) & mask;
}

static uint64_t midpoint(const struct tsc_reading *r)
{
	return r->tsc_before + tsc_reading_width(r) / 2;
}

uint64_t tsc_rate_hz(const struct tsc_reading *start, const struct tsc_reading *end,
		     unsigned counter_bits, uint64_t counter_hz)
{
	uint32_t counted = tsc_counter_elapsed(start->counter, end->counter, counter_bits);
	uint64_t from = midpoint(start), to = midpoint(end);

	if (!counted || to <= from)
		return 0;
	/* (to - from) / counted ticks of the TSC per counter tick, times the counter's rate:
	 * split so that neither product overflows for any window under a minute. */
	uint64_t ticks = to - from;
	return ticks / counted * counter_hz + ticks % counted * counter_hz / counted;
}

uint64_t tsc_rate_median(uint64_t *rates, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && rates[j - 1] > rates[j]; j--) {
			uint64_t t = rates[j];
			rates[j] = rates[j - 1];
			rates[j - 1] = t;
		}
	return rates[n / 2];
}
