/* Monotonic time from the TSC; see kernel/clock.h. */
#include "kernel/clock.h"
#include "arch/x86/cpu.h"

static uint64_t tsc_hz;
static uint64_t tsc_at_init;

void clock_init(uint64_t hz)
{
	tsc_hz = hz ? hz : 1000000000ull;  /* a guess keeps time moving if calibration failed */
	tsc_at_init = rdtsc();
}

uint64_t clock_tsc_hz(void)
{
	return tsc_hz;
}

/*
 * Scales ticks by mul/tsc_hz in two parts (whole seconds, then the remainder),
 * so that nothing overflows 64 bits for mul up to 10^9 and TSCs up to 18 GHz.
 */
static uint64_t ticks_to(uint64_t ticks, uint64_t mul)
{
	if (!tsc_hz)
		return 0;
	return ticks / tsc_hz * mul + ticks % tsc_hz * mul / tsc_hz;
}

uint64_t clock_ns(void)
{
	return ticks_to(rdtsc() - tsc_at_init, 1000000000ull);
}

uint64_t clock_us(void)
{
	return ticks_to(rdtsc() - tsc_at_init, 1000000ull);
}

uint64_t clock_ms(void)
{
	return ticks_to(rdtsc() - tsc_at_init, 1000ull);
}

void clock_delay_us(uint64_t us)
{
	uint64_t end = clock_us() + us;

	while (clock_us() < end)
		cpu_relax();
}
