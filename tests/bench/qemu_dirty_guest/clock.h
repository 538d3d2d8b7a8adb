/* Time for the dirty guest: the TSC, its rate measured once against the PIT. */
#ifndef DIRTY_GUEST_CLOCK_H
#define DIRTY_GUEST_CLOCK_H

#include <stdint.h>

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* TSC ticks per second, measured over a 50 ms one-shot of PIT channel 2. */
uint64_t clock_calibrate_tsc_hz(void);

/* numerator / divisor for a 32-bit divisor (nonzero), without libgcc. */
uint64_t clock_div_u64_u32(uint64_t numerator, uint32_t divisor);

#endif
