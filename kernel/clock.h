/*
 * Monotonic time since boot, portable (image and host). The ground floor reads no
 * CPU register: the arch hands clock_init() a free-running counter and its rate
 * (on x86 the TSC, calibrated by boot/ against the firmware's Stall service:
 * arch/x86/clock.c), and the time of day is that counter scaled, exactly and
 * without overflow for rates up to 18 GHz. Before clock_init every reading is 0.
 */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <stdint.h>

struct clock_counter {
	uint64_t (*read)(void);   /* counts up at hz, never backwards */
	uint64_t hz;              /* 0 when unmeasured: a 1 GHz guess keeps time moving */
	void (*relax)(void);      /* what a busy wait does each turn (x86: PAUSE); may be NULL */
};

/* Starts time at 0 on this counter. */
void clock_init(const struct clock_counter *counter);

uint64_t clock_ns(void);
uint64_t clock_us(void);
uint64_t clock_ms(void);

/*
 * The counter's rate. Ferry runs on x86, where the counter is the TSC: guests'
 * TSC rate and the VT-x time slices are counted in it.
 */
uint64_t clock_tsc_hz(void);

/* Busy-waits for at least us microseconds. */
void clock_delay_us(uint64_t us);

#endif
