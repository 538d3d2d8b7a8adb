/* Time from the arch's counter; see clock.h. */
#include "kernel/clock.h"
#include "kernel/lib/units.h"

#include <stddef.h>

#define GUESSED_HZ NS_PER_S

static struct clock_counter counter;
static uint64_t count_at_init;

void clock_init(const struct clock_counter *c)
{
	counter = *c;
	if (!counter.hz)
		counter.hz = GUESSED_HZ;
	count_at_init = counter.read();
}

uint64_t clock_tsc_hz(void)
{
	return counter.hz;
}

/*
 * Scales the ticks since init by mul/hz in two parts (whole seconds, then the
 * remainder), so that nothing overflows 64 bits for mul up to 10^9 and rates up to 18 GHz.
 */
static uint64_t elapsed(uint64_t mul)
{
	if (!counter.read)
		return 0;
	uint64_t ticks = counter.read() - count_at_init;
	return ticks / counter.hz * mul + ticks % counter.hz * mul / counter.hz;
}

uint64_t clock_ns(void)
{
	return elapsed(NS_PER_S);
}

uint64_t clock_us(void)
{
	return elapsed(US_PER_S);
}

uint64_t clock_ms(void)
{
	return elapsed(MS_PER_S);
}

void clock_delay_us(uint64_t us)
{
	uint64_t end = clock_us() + us;

	while (clock_us() < end)
		if (counter.relax)
			counter.relax();
}
