/*
 * A token bucket: up to `burst` units at once, refilled at `rate_per_s` units a
 * second. The console charges each source's output to one (kernel/console.h),
 * in bytes. Time is given by the caller in microseconds (monotonic), so the
 * bucket is portable (image and host) and tested with a made-up clock.
 */
#ifndef FERRY_LIB_RATE_LIMIT_H
#define FERRY_LIB_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct rate_limit {
	uint64_t rate_per_s;     /* units added a second */
	uint64_t burst;          /* most units held */
	uint64_t micro_tokens;   /* units held, in millionths (so that a refill never rounds a unit away) */
	uint64_t last_us;        /* when micro_tokens was last brought up to date */
};

/* A full bucket at now_us. */
void rate_limit_init(struct rate_limit *r, uint64_t rate_per_s, uint64_t burst, uint64_t now_us);

/* Takes `amount` units when the bucket holds them (true), else takes nothing (false). */
bool rate_limit_take(struct rate_limit *r, uint64_t now_us, uint64_t amount);

#endif
