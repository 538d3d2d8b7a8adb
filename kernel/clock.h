/*
 * Monotonic time since boot, from the TSC (calibrated against the firmware's
 * Stall service before ExitBootServices). Implemented in arch/x86/clock.c.
 */
#ifndef FERRY_CLOCK_H
#define FERRY_CLOCK_H

#include <stdint.h>

void clock_init(uint64_t tsc_hz);
uint64_t clock_ns(void);
uint64_t clock_us(void);
uint64_t clock_ms(void);
uint64_t clock_tsc_hz(void);

/* Busy-waits for at least us microseconds. */
void clock_delay_us(uint64_t us);

#endif
