/* Host tests of time from the arch's counter (kernel/clock.c), over a counter the test moves. */
#include "check.h"
#include "kernel/clock.h"

static uint64_t now;
static unsigned relaxed;

static uint64_t read_counter(void)
{
	return now;
}

/* Each turn of a busy wait moves the counter on, as time would. */
static void relax(void)
{
	relaxed++;
	now += 1000;
}

/* First (tests run in the order they are written): nothing has called clock_init yet. */
TEST(before_init_time_stands_at_zero)
{
	CHECK_EQ_U(clock_ms(), 0);
	CHECK_EQ_U(clock_ns(), 0);
	CHECK_EQ_U(clock_tsc_hz(), 0);
}

TEST(scales_the_counter_from_init)
{
	struct clock_counter c = { read_counter, 3000000000ull, relax };   /* 3 GHz */

	now = 123456789;
	clock_init(&c);
	CHECK_EQ_U(clock_ns(), 0);
	now += 3000000000ull * 5 + 1500000000ull;                         /* 5.5 s */
	CHECK_EQ_U(clock_ms(), 5500);
	CHECK_EQ_U(clock_us(), 5500000);
	CHECK_EQ_U(clock_ns(), 5500000000ull);
	CHECK_EQ_U(clock_tsc_hz(), 3000000000ull);
}

TEST(no_overflow_after_years_at_18_ghz)
{
	struct clock_counter c = { read_counter, 18000000000ull, NULL };
	uint64_t seconds = 10ull * 365 * 24 * 3600;

	now = 0;
	clock_init(&c);
	now = 18000000000ull * seconds + 9000000000ull;
	CHECK_EQ_U(clock_ns(), seconds * 1000000000ull + 500000000ull);
}

TEST(unmeasured_rate_guesses_1_ghz)
{
	struct clock_counter c = { read_counter, 0, NULL };

	now = 0;
	clock_init(&c);
	now = 2000000000ull;
	CHECK_EQ_U(clock_ms(), 2000);
	CHECK_EQ_U(clock_tsc_hz(), 1000000000ull);
}

TEST(delay_waits_at_least_that_long)
{
	struct clock_counter c = { read_counter, 1000000000ull, relax };   /* 1 tick a ns */

	now = 0;
	relaxed = 0;
	clock_init(&c);
	clock_delay_us(50);
	CHECK(clock_us() >= 50);
	CHECK_EQ_U(relaxed, 50);
}

int main(void)
{
	return run_tests();
}
