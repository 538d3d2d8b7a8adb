/*
 * Host tests of the pollers' pace (kernel/poll.c) on a made-up clock: a busy report
 * keeps slices short a while; a hold (a migrating guest's downtime) keeps the other
 * guests off the CPU while it is renewed, lapses a turn after its last report, and
 * lasts at most POLL_HOLD_MAX_NS, then rests as long before another may start.
 */
#include "check.h"
#include "kernel/clock.h"
#include "kernel/poll.h"

static uint64_t now_us;
static uint64_t fake_read(void) { return now_us; }
static const struct clock_counter fake_clock = { fake_read, 1000000, NULL };

#define US(ns) ((ns) / 1000)

/* Renews the hold every `every_us` for `for_us`; the time the guests were held. */
static uint64_t hold_for(uint64_t every_us, uint64_t for_us)
{
	uint64_t held = 0;

	for (uint64_t t = 0; t < for_us; t += every_us) {
		poll_hold_guests();
		now_us += every_us;
		if (poll_guests_held())
			held += every_us;
	}
	return held;
}

TEST(busy_reports_keep_slices_short_a_while)
{
	clock_init(&fake_clock);
	now_us = 1000000;
	CHECK(!poll_io_busy());
	poll_report_busy();
	now_us += US(POLL_BUSY_HOLD_NS) - 1;
	CHECK(poll_io_busy());
	now_us += 1;
	CHECK(!poll_io_busy());
}

TEST(a_hold_keeps_the_guests_off_while_renewed_and_lapses_a_turn_after)
{
	clock_init(&fake_clock);
	now_us = 5000000;
	CHECK(!poll_guests_held());
	/* A 30 ms pause, its engine's turn every 500 us: held throughout. */
	CHECK_EQ_U(hold_for(500, 30000), 30000);
	CHECK(poll_guests_held());   /* the last report was 500 us ago */
	now_us += US(POLL_HOLD_GAP_NS) - 500 - 1;
	CHECK(poll_guests_held());
	now_us += 1;
	CHECK(!poll_guests_held());
	/* The next migration's pause, a second later, is held again. */
	now_us += 1000000;
	CHECK_EQ_U(hold_for(500, 20000), 20000);
}

TEST(a_hold_lasts_at_most_its_bound_then_rests_as_long)
{
	clock_init(&fake_clock);
	now_us = 9000000;
	/*
	 * A hand-over that stalls for a second, renewed all along: held for the bound, then
	 * as long with the guests running, and so on: half the time, no more.
	 */
	uint64_t held = hold_for(1000, 1000000);
	printf("  held %llu us of a second\n", (unsigned long long)held);
	CHECK(held >= 1000000 / 2 - 5 * 1000 && held <= 1000000 / 2);
	/* Renewed once more right after a bound: the rest holds. */
	now_us = 20000000;
	hold_for(1000, US(POLL_HOLD_MAX_NS));
	CHECK(!poll_guests_held());
	poll_hold_guests();
	CHECK(!poll_guests_held());
	now_us += US(POLL_HOLD_MAX_NS) + 1000;
	poll_hold_guests();
	CHECK(poll_guests_held());
}

int main(void) { return run_tests(); }
