/*
 * The throttle by time (kernel/vm/throttle.h): a vCPU at p% runs at most (100 - p)% of
 * wall time over a short window, whatever it does, as a scheduler that asks before
 * every slice sees it; and the share it got is what it ran.
 */
#include "tests/unit/check.h"

#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"
#include "kernel/vm/throttle.h"

#define SLICE_NS (10 * NS_PER_MS)
#define TURN_NS (50 * NS_PER_US)      /* one pass of the other pollers when the guest rests */

/*
 * A scheduler over `ns` of simulated time with one guest: each turn it asks the
 * throttle; a guest that may run runs its slice or, when `yield_ns` is not 0, gives
 * the CPU back after that long. Returns the time the guest ran.
 */
static uint64_t simulate(struct vm_throttle *t, uint64_t *now, uint64_t ns, uint64_t yield_ns)
{
	uint64_t end = *now + ns, ran = 0;

	while (*now < end) {
		if (!throttle_may_run(t, *now)) {
			*now += TURN_NS;
			continue;
		}
		uint64_t slice = throttle_slice_ns(t, SLICE_NS);
		uint64_t run = yield_ns && yield_ns < slice ? yield_ns : slice;
		throttle_ran(t, *now, *now + run);
		*now += run + TURN_NS;
		ran += run;
	}
	return ran;
}

TEST(unthrottled_guest_runs_every_turn)
{
	struct vm_throttle t;
	uint64_t now = NS_PER_S;

	throttle_init(&t, now);
	uint64_t ran = simulate(&t, &now, 2 * NS_PER_S, 0);
	CHECK(ran > 2 * NS_PER_S * 99 / 100);
	CHECK_EQ_U(t.held, 0);
	CHECK(throttle_share(&t, now) >= 99);
}

TEST(share_follows_the_throttle_whatever_the_guest_does)
{
	static const unsigned percents[] = { 20, 50, 70, 95 };
	static const uint64_t yields[] = { 0, 300 * NS_PER_US, 3 * NS_PER_MS };

	for (unsigned i = 0; i < sizeof(percents) / sizeof(percents[0]); i++)
		for (unsigned j = 0; j < sizeof(yields) / sizeof(yields[0]); j++) {
			struct vm_throttle t;
			uint64_t now = NS_PER_S;
			throttle_init(&t, now);
			CHECK_EQ_I(throttle_set(&t, percents[i]), FERR_OK);
			uint64_t ran = simulate(&t, &now, 4 * NS_PER_S, yields[j]);
			uint64_t allowed = 4 * NS_PER_S * (100 - percents[i]) / 100;
			/* At most its share, and not far below it (the rest of the CPU is idle). */
			CHECK(ran <= allowed + THROTTLE_RUN_MAX_NS);
			CHECK(ran >= allowed * 90 / 100);
			unsigned share = throttle_share(&t, now);
			CHECK(share <= 100 - percents[i]);
			CHECK(share + 5 >= 100 - percents[i]);
			CHECK(t.held > 0);
		}
}

TEST(windows_are_short_even_at_95_percent)
{
	struct vm_throttle t;
	uint64_t now = NS_PER_S;

	throttle_init(&t, now);
	throttle_set(&t, 95);
	/* A run is cut to THROTTLE_RUN_MAX_NS, so the rest after it is 19 times that. */
	CHECK_EQ_U(throttle_slice_ns(&t, SLICE_NS), THROTTLE_RUN_MAX_NS);
	throttle_ran(&t, now, now + THROTTLE_RUN_MAX_NS);
	now += THROTTLE_RUN_MAX_NS;
	CHECK(!throttle_may_run(&t, now));
	CHECK(!throttle_may_run(&t, now + 19 * THROTTLE_RUN_MAX_NS - 1));
	CHECK(throttle_may_run(&t, now + 19 * THROTTLE_RUN_MAX_NS));
	/* A long run (a slice that overran) rests proportionally longer. */
	throttle_ran(&t, now, now + 2 * THROTTLE_RUN_MAX_NS);
	CHECK(!throttle_may_run(&t, now + 2 * THROTTLE_RUN_MAX_NS + 37 * THROTTLE_RUN_MAX_NS));
}

TEST(unthrottling_ends_the_rest_at_once)
{
	struct vm_throttle t;
	uint64_t now = NS_PER_S;

	throttle_init(&t, now);
	throttle_set(&t, 90);
	throttle_ran(&t, now, now + NS_PER_MS);
	CHECK(!throttle_may_run(&t, now + 2 * NS_PER_MS));
	throttle_set(&t, 0);
	CHECK(throttle_may_run(&t, now + 2 * NS_PER_MS));
	CHECK_EQ_U(throttle_slice_ns(&t, SLICE_NS), SLICE_NS);
	CHECK_EQ_I(throttle_set(&t, 100), FERR_RANGE);
	CHECK_EQ_U(t.percent, 0);
}

TEST(share_of_a_guest_that_stopped_running_fades)
{
	struct vm_throttle t;
	uint64_t now = NS_PER_S;

	throttle_init(&t, now);
	simulate(&t, &now, 2 * NS_PER_S, 0);
	CHECK(throttle_share(&t, now) >= 99);
	/* Paused for 10 s: nothing ran since. */
	CHECK(throttle_share(&t, now + 10 * NS_PER_S) < 20);
	/* A guest that halts at once and runs 1 ms in every 10 gets about 10%. */
	struct vm_throttle idle;
	now = NS_PER_S;
	throttle_init(&idle, now);
	for (unsigned i = 0; i < 300; i++) {
		throttle_ran(&idle, now, now + NS_PER_MS);
		now += 10 * NS_PER_MS;
	}
	CHECK(throttle_share(&idle, now) >= 9 && throttle_share(&idle, now) <= 11);
}

int main(void)
{
	return run_tests();
}
