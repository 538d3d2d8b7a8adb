/*
 * The source's view of its link (kernel/migration/link.h): bandwidth over saturated
 * time only, smoothed; the peak rate of a source that never saturated it; the
 * shortest round trip.
 */
#include "tests/unit/check.h"

#include "kernel/lib/units.h"
#include "kernel/migration/link.h"

#define STEP NS_PER_MS

/* A link carrying `rate` bytes a ms, sampled each ms for `ms` with `queued` waiting. */
static void feed(struct mig_link *l, uint64_t *now, uint64_t *taken, uint64_t rate,
		 uint64_t queued, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		*now += STEP;
		*taken += rate;
		mig_link_sample(l, *now, *taken, queued);
	}
}

TEST(saturated_link_is_measured_by_what_the_peer_took)
{
	struct mig_link l;
	uint64_t now = NS_PER_S, taken = 0;

	mig_link_init(&l);
	CHECK_EQ_U(mig_link_bandwidth(&l), 0);
	CHECK_EQ_U(mig_link_transfer_ns(&l, 1000), UINT64_MAX);
	mig_link_sample(&l, now, taken, 256 * 1024);
	feed(&l, &now, &taken, 1100, 256 * 1024, 500);     /* 1.1 MB/s, a deep queue */
	CHECK(mig_link_saturated(&l));
	CHECK(mig_link_bandwidth(&l) >= 1090000 && mig_link_bandwidth(&l) <= 1110000);
	/* 11 KB at 1.1 MB/s: 10 ms. */
	CHECK(mig_link_transfer_ns(&l, 11000) >= 9900 * NS_PER_US &&
	      mig_link_transfer_ns(&l, 11000) <= 10100 * NS_PER_US);
}

TEST(idle_and_latency_bound_time_does_not_count)
{
	struct mig_link l;
	uint64_t now = NS_PER_S, taken = 0;

	mig_link_init(&l);
	mig_link_sample(&l, now, taken, 256 * 1024);
	feed(&l, &now, &taken, 2000, 256 * 1024, 200);     /* 2 MB/s while saturated */
	/* Then the source waits on a small message (a round trip) and on nothing. */
	feed(&l, &now, &taken, 0, 300, 1000);
	feed(&l, &now, &taken, 0, 0, 1000);
	CHECK(mig_link_bandwidth(&l) >= 1990000 && mig_link_bandwidth(&l) <= 2010000);
}

TEST(estimate_follows_the_link_over_a_window_of_a_second_or_two)
{
	struct mig_link l;
	uint64_t now = NS_PER_S, taken = 0;

	mig_link_init(&l);
	mig_link_sample(&l, now, taken, 256 * 1024);
	feed(&l, &now, &taken, 4000, 256 * 1024, 3000);    /* round 0 at 4 MB/s */
	CHECK(mig_link_bandwidth(&l) >= 3990000);
	/* A short round at another rate moves it a little, not all the way. */
	feed(&l, &now, &taken, 1000, 256 * 1024, 2);
	CHECK(mig_link_bandwidth(&l) >= 3900000);
	/* Seconds at the new rate: it follows. */
	feed(&l, &now, &taken, 1000, 256 * 1024, 6000);
	CHECK(mig_link_bandwidth(&l) <= 1100000);
}

TEST(unsaturated_source_gets_the_peak_over_two_round_trips)
{
	struct mig_link l;
	uint64_t now = NS_PER_S, taken = 0;

	mig_link_init(&l);
	mig_link_rtt_sample(&l, 20 * NS_PER_MS);
	mig_link_sample(&l, now, taken, 500);
	/* A trickle, then a burst of 40 KB in 40 ms: never 32 KiB queued. */
	feed(&l, &now, &taken, 100, 500, 200);
	feed(&l, &now, &taken, 1000, 20000, 40);
	feed(&l, &now, &taken, 100, 500, 200);
	CHECK(!mig_link_saturated(&l));
	CHECK(mig_link_bandwidth(&l) >= 900000 && mig_link_bandwidth(&l) <= 1000000);
}

TEST(round_trip_is_the_shortest_sample)
{
	struct mig_link l;

	mig_link_init(&l);
	mig_link_rtt_sample(&l, 0);
	CHECK_EQ_U(l.rtt_ns, 0);
	mig_link_rtt_sample(&l, 5 * NS_PER_MS);
	mig_link_rtt_sample(&l, 3 * NS_PER_MS);
	mig_link_rtt_sample(&l, 9 * NS_PER_MS);
	CHECK_EQ_U(l.rtt_ns, 3 * NS_PER_MS);
}

int main(void)
{
	return run_tests();
}
