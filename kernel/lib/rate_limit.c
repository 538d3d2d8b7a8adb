/* A token bucket; see rate_limit.h. */
#include "kernel/lib/rate_limit.h"

#define MICRO 1000000ull

void rate_limit_init(struct rate_limit *r, uint64_t rate_per_s, uint64_t burst, uint64_t now_us)
{
	r->rate_per_s = rate_per_s;
	r->burst = burst;
	r->micro_tokens = burst * MICRO;
	r->last_us = now_us;
}

static void refill(struct rate_limit *r, uint64_t now_us)
{
	uint64_t cap = r->burst * MICRO;

	if (now_us <= r->last_us)
		return;
	uint64_t elapsed = now_us - r->last_us;
	r->last_us = now_us;
	/* Past the time a refill from empty takes, the bucket is full: no product can overflow. */
	if (r->rate_per_s == 0 || elapsed >= r->burst * MICRO / r->rate_per_s + 1) {
		r->micro_tokens = r->rate_per_s ? cap : r->micro_tokens;
		return;
	}
	r->micro_tokens += elapsed * r->rate_per_s;
	if (r->micro_tokens > cap)
		r->micro_tokens = cap;
}

bool rate_limit_take(struct rate_limit *r, uint64_t now_us, uint64_t amount)
{
	refill(r, now_us);
	if (amount > r->burst || amount * MICRO > r->micro_tokens)
		return false;
	r->micro_tokens -= amount * MICRO;
	return true;
}
