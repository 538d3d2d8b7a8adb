/*
 * spin: a CPU-bound neighbour. It counts in a tight loop that leaves the CPU only when
 * Ferry's slice ends, reading the hypercall clock once every SPIN_CHUNK turns, and
 * prints `spin loops=N` about once a second: N turns of the loop in that second, its
 * throughput (what a migration running beside it costs it, and it the migration).
 */
#include "guest_rt.h"

#define SPIN_CHUNK 100000u

void guest_main(void)
{
	uint64_t last_report = clock_ns(), loops = 0;
	volatile uint64_t sink = 0;

	for (;;) {
		for (uint32_t i = 0; i < SPIN_CHUNK; i++)
			sink += i;
		loops += SPIN_CHUNK;
		uint64_t now = clock_ns();
		if (now - last_report >= NS_PER_SEC) {
			guest_printf("spin loops=%lu\n", (unsigned long)loops);
			loops = 0;
			last_report = now;
		}
	}
}
