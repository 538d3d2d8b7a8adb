/* Host tests of the TSC's rate from bracketed PM-timer readings (kernel/lib/tsc_rate.c). */
#include "check.h"
#include "kernel/lib/tsc_rate.h"

#define PM_HZ 3579545ull

TEST(elapsed_wraps_at_the_counters_width)
{
	CHECK_EQ_U(tsc_counter_elapsed(100, 400, 24), 300);
	CHECK_EQ_U(tsc_counter_elapsed(0xfffff0, 0x10, 24), 0x20);
	CHECK_EQ_U(tsc_counter_elapsed(0xfffffff0u, 0x10, 32), 0x20);
	/* A 24-bit timer's upper byte is not part of the count. */
	CHECK_EQ_U(tsc_counter_elapsed(0x00fffff0u, 0xff000010u, 24), 0x20);
}

TEST(rate_from_midpoints)
{
	/* A 2.4 GHz TSC over 100 ms of the PM timer (357954.5 ticks: 357955 taken). */
	struct tsc_reading start = { .tsc_before = 1000, .tsc_after = 1200, .counter = 0xfff000 };
	uint32_t pm_ticks = 357955;
	uint64_t tsc_ticks = pm_ticks * 2400000000ull / PM_HZ;
	struct tsc_reading end = { .tsc_before = 1100 + tsc_ticks - 50, .tsc_after = 1100 + tsc_ticks + 50,
				   .counter = (0xfff000 + pm_ticks) & 0xffffff };
	uint64_t hz = tsc_rate_hz(&start, &end, 24, PM_HZ);

	CHECK(hz > 2400000000ull - 20000 && hz < 2400000000ull + 20000);
	CHECK_EQ_U(tsc_reading_width(&start), 200);
}

TEST(a_wide_bracket_moves_the_midpoint_not_the_rate_much)
{
	/* The same window with the end's reads 2 ms of TSC apart around the true moment: the
	 * midpoint is still right, which is why the narrowest reading is kept, not the first. */
	uint64_t tsc_hz = 3000000000ull, pm_ticks = 357955, tsc_ticks = pm_ticks * tsc_hz / PM_HZ;
	struct tsc_reading start = { 0, 100, 0 };
	struct tsc_reading end = { 50 + tsc_ticks - 3000000, 50 + tsc_ticks + 3000000, (uint32_t)pm_ticks };
	uint64_t hz = tsc_rate_hz(&start, &end, 32, PM_HZ);

	CHECK(hz > tsc_hz - 10000 && hz < tsc_hz + 10000);
}

TEST(degenerate_readings_give_no_rate)
{
	struct tsc_reading a = { 1000, 1010, 5 }, b = { 900, 910, 50 }, c = { 2000, 2010, 5 };

	CHECK_EQ_U(tsc_rate_hz(&a, &c, 24, PM_HZ), 0);   /* the counter did not move */
	CHECK_EQ_U(tsc_rate_hz(&a, &b, 24, PM_HZ), 0);   /* the TSC went backwards */
}

TEST(median_of_odd_and_even_counts)
{
	uint64_t three[] = { 30, 10, 20 };
	uint64_t four[] = { 4, 1, 3, 2 };
	uint64_t one[] = { 7 };

	CHECK_EQ_U(tsc_rate_median(three, 3), 20);
	CHECK_EQ_U(tsc_rate_median(four, 4), 3);
	CHECK_EQ_U(tsc_rate_median(one, 1), 7);
}

int main(void)
{
	return run_tests();
}
