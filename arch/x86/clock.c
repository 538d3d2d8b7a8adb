/* The TSC as kernel/clock's counter; see clock.h. */
#include "arch/x86/clock.h"
#include "arch/x86/cpu.h"

static uint64_t tsc_read(void)
{
	return rdtsc();
}

static void tsc_relax(void)
{
	cpu_relax();
}

struct clock_counter tsc_clock_counter(uint64_t tsc_hz)
{
	return (struct clock_counter){ .read = tsc_read, .hz = tsc_hz, .relax = tsc_relax };
}
