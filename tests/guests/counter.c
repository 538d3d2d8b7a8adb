/*
 * counter: prints `counter N` (N = 1, 2, ...) once per interval by the hypercall
 * clock, the first at once. Argument: interval_ms=200.
 */
#include "guest_rt.h"

void guest_main(void)
{
	uint64_t interval = arg_u64("interval_ms", 200) * NS_PER_MS;
	uint64_t next = clock_ns();

	if (!interval)
		interval = NS_PER_MS;
	for (unsigned long n = 1;; n++) {
		uint64_t now;
		while ((now = clock_ns()) < next)
			hc_yield();
		guest_printf("counter %lu\n", n);
		next += interval;
		/* After a long pause (migration, a stopped guest) resume the rhythm, no burst. */
		if (now > next)
			next = now + interval;
	}
}
