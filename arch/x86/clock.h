/*
 * The TSC as kernel/clock's counter. Its rate is measured by boot/efi_main.c
 * against the firmware's Stall service before ExitBootServices.
 */
#ifndef FERRY_ARCH_X86_CLOCK_H
#define FERRY_ARCH_X86_CLOCK_H

#include "kernel/clock.h"

/* The TSC at tsc_hz (0 when calibration failed), for clock_init(). */
struct clock_counter tsc_clock_counter(uint64_t tsc_hz);

#endif
