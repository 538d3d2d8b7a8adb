/*
 * The dirty sets' model (kernel/migration/converge.h): a floor plus the bytes dirtied
 * per byte sent; throttle only when the sets would not fit, or have settled above
 * what fits. Fed with a Bochs lab's rounds as measured, and with made-up writers.
 */
#include "tests/unit/check.h"

#include "kernel/migration/converge.h"

#define WIRE 4104u        /* a page on the wire, as the engine's MIG_PAGE_WIRE_BYTES */

struct trace_round {
	uint64_t sent_bytes, found_pages;
};

static void feed(struct mig_converge *c, const struct trace_round *t, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++)
		mig_converge_round(c, i, t[i].sent_bytes, t[i].found_pages);
}

/*
 * 100 pages/s, verify=after, the third Bochs run of 3 December (docs/benchmarks.md):
 * what each round sent on the wire and the set it left. 13 pages fitted the 50 ms
 * target at that link (1.3 MB/s, a 3.1 ms round trip). Rounds 6 and 7 left sets larger
 * than they sent (17 after 15, 27 after 17): by the last round's ratio alone they
 * outran the link, and the engine of that run throttled the guest to 20% at round 8.
 * The guest wrote 0.4 MB/s at a 1.3 MB/s link: those sets are the floor's noise.
 */
static const struct trace_round bochs_100_after[] = {
	{ 33767424, 2515 }, { 10322824, 660 }, { 2708976, 232 }, { 952256, 90 },
	{ 369408, 31 }, { 127240, 15 }, { 61576, 17 }, { 69784, 27 },
};

TEST(a_writer_at_a_third_of_the_link_is_not_throttled_for_the_floors_noise)
{
	struct mig_converge c;
	struct mig_converge_model m;
	const uint64_t fit = 13;

	mig_converge_init(&c, WIRE);
	feed(&c, bochs_100_after, 7);
	CHECK(!mig_converge_outruns(&c, 17, fit, 30 - 6 - 1));
	mig_converge_round(&c, 7, bochs_100_after[7].sent_bytes, bochs_100_after[7].found_pages);
	CHECK(!mig_converge_outruns(&c, 27, fit, 30 - 7 - 1));
	mig_converge_read(&c, &m);
	/* The bytes dirtied per byte sent, from the rounds since round 0: about 0.3. */
	CHECK(m.ratio_ppm >= 250000 && m.ratio_ppm <= 350000);
	/* The floor and where the sets settle: below what fits. */
	CHECK(m.floor_pages <= 8);
	CHECK(m.settles_pages <= fit);
	CHECK_EQ_U(mig_converge_rounds_to_fit(&m, 27, fit), 1);
}

TEST(a_writer_faster_than_the_link_outruns)
{
	struct mig_converge c;
	struct mig_converge_model m;

	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, 16384ull * WIRE, 3000);
	CHECK(!mig_converge_outruns(&c, 3000, 50, 28));   /* shrinking 5x a round: it fits soon */
	mig_converge_round(&c, 1, 3000ull * WIRE, 3300);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= MIG_CONVERGE_PPM);
	CHECK_EQ_U(m.settles_pages, UINT64_MAX);
	CHECK(mig_converge_outruns(&c, 3300, 50, 27));
}

TEST(round0_leaves_the_ratio_once_a_later_round_can_give_it)
{
	struct mig_converge c;
	struct mig_converge_model m;

	/*
	 * A writer rewriting a 2048-page working set all the time: a long round 0 leaves
	 * no more pages dirty than a short round 1, so round 0's ratio (1/8) would say it
	 * shrinks; round 1's says it does not.
	 */
	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, 16384ull * WIRE, 2048);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= 120000 && m.ratio_ppm <= 130000);
	mig_converge_round(&c, 1, 2048ull * WIRE, 2040);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= 990000);
	CHECK(mig_converge_outruns(&c, 2040, 64, 28));
}

TEST(sets_that_settle_above_what_fits_outrun_whatever_the_model_read)
{
	struct mig_converge c;

	/* Sets that fell fast, then settled at 16 to 20 where 15 fit. */
	static const struct trace_round settled[] = {
		{ 16384ull * WIRE, 480 }, { 480ull * WIRE, 125 }, { 125ull * WIRE, 40 },
		{ 40ull * WIRE, 16 }, { 16ull * WIRE, 20 }, { 20ull * WIRE, 16 },
		{ 16ull * WIRE, 16 }, { 16ull * WIRE, 17 },
	};
	const uint64_t fit = 15;

	mig_converge_init(&c, WIRE);
	feed(&c, settled, 7);
	/* Three rounds since the smallest (16): the model still says a round or two. */
	CHECK(!mig_converge_outruns(&c, 16, fit, 22));
	mig_converge_round(&c, 7, settled[7].sent_bytes, settled[7].found_pages);
	/* Four: settled. */
	CHECK(mig_converge_outruns(&c, 17, fit, 21));
	/* A smaller set than any before starts the count again. */
	mig_converge_round(&c, 8, 17ull * WIRE, 15);
	CHECK_EQ_U(c.since_smallest, 0);
	CHECK(!mig_converge_outruns(&c, 15, 14, 20));
}

TEST(a_new_throttle_starts_the_ratio_again_and_keeps_the_smallest_set)
{
	struct mig_converge c;
	struct mig_converge_model m;

	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, 16384ull * WIRE, 3000);
	mig_converge_round(&c, 1, 3000ull * WIRE, 3300);
	mig_converge_writer_changed(&c);
	mig_converge_read(&c, &m);
	CHECK_EQ_U(m.ratio_ppm, 0);
	CHECK_EQ_U(m.floor_pages, 0);
	/* Throttled, the guest dirties half a page per page sent: that alone is r now. */
	mig_converge_round(&c, 2, 3300ull * WIRE, 1650);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= 499000 && m.ratio_ppm <= 501000);
	CHECK_EQ_U(c.smallest, 1650);
	CHECK_EQ_U(c.since_smallest, 0);
	mig_converge_round(&c, 3, 1650ull * WIRE, 1700);
	CHECK_EQ_U(c.smallest, 1650);
	CHECK_EQ_U(c.since_smallest, 1);
}

TEST(half_the_rounds_left_bound_the_projection)
{
	struct mig_converge c;

	/* Shrinking by a tenth a round: from 1000 to 100 takes 22 rounds. */
	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, 1000ull * WIRE, 900);
	CHECK(!mig_converge_outruns(&c, 900, 100, 44));
	CHECK(mig_converge_outruns(&c, 900, 100, 40));
	CHECK(!mig_converge_outruns(&c, 90, 100, 0));   /* it fits already */
}

TEST(huge_guests_do_not_overflow_the_ratio)
{
	struct mig_converge c;
	struct mig_converge_model m;

	/* A 4 TiB guest's round 0: 2^30 pages sent, 2^29 dirtied. */
	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, (1ull << 30) * WIRE, 1ull << 29);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= 499000 && m.ratio_ppm <= 501000);
	mig_converge_round(&c, 1, (1ull << 29) * WIRE, 1ull << 28);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= 499000 && m.ratio_ppm <= 501000);
	CHECK(m.floor_pages <= 1);
	/* Nothing sent and something dirtied: as good as infinite. */
	mig_converge_init(&c, WIRE);
	mig_converge_round(&c, 0, 0, 5);
	mig_converge_read(&c, &m);
	CHECK(m.ratio_ppm >= MIG_CONVERGE_PPM);
}

int main(void) { return run_tests(); }
