/* Host tests of the token bucket (kernel/lib/rate_limit.c). */
#include "check.h"
#include "kernel/lib/rate_limit.h"

TEST(starts_full_and_empties)
{
	struct rate_limit r;

	rate_limit_init(&r, 100, 50, 0);
	CHECK(rate_limit_take(&r, 0, 30));
	CHECK(rate_limit_take(&r, 0, 20));
	CHECK(!rate_limit_take(&r, 0, 1));
	CHECK(!rate_limit_take(&r, 0, 51));   /* more than a burst never passes */
}

TEST(refills_at_its_rate)
{
	struct rate_limit r;

	rate_limit_init(&r, 100, 50, 1000);
	CHECK(rate_limit_take(&r, 1000, 50));
	CHECK(!rate_limit_take(&r, 1000 + 9999, 1));     /* 9.999 ms: not yet one unit */
	CHECK(rate_limit_take(&r, 1000 + 10000, 1));     /* 10 ms: one unit at 100/s */
	/* Fractions are kept, not rounded away: 3 x 5 ms make 1.5 units. */
	CHECK(!rate_limit_take(&r, 1000 + 15000, 1));
	CHECK(rate_limit_take(&r, 1000 + 20000, 1));
}

TEST(never_more_than_a_burst)
{
	struct rate_limit r;

	rate_limit_init(&r, 1000, 10, 0);
	CHECK(rate_limit_take(&r, 0, 10));
	CHECK(rate_limit_take(&r, 3600ull * 1000000, 10));   /* an hour later: full, not more */
	CHECK(!rate_limit_take(&r, 3600ull * 1000000, 1));
	CHECK(!rate_limit_take(&r, 5, 1));                   /* time going backwards adds nothing */
}

TEST(sustained_rate_over_time)
{
	struct rate_limit r;
	uint64_t taken = 0;

	/* Asking every millisecond for 10 s at 2048/s with a 4096 burst: burst + rate x time. */
	rate_limit_init(&r, 2048, 4096, 0);
	for (uint64_t us = 0; us <= 10000000; us += 1000)
		while (rate_limit_take(&r, us, 64))
			taken += 64;
	CHECK(taken <= 4096 + 2048 * 10);
	CHECK(taken >= 4096 + 2048 * 10 - 64);
}

int main(void)
{
	return run_tests();
}
