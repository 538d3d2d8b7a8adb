/*
 * Host tests of the cryptobench cases (kernel/migration/crypto_bench.c): every case
 * runs over exactly the bytes asked (in whole pieces, the buffer reused round and
 * round), memcpy first, each timed by the given clock, and the context is wiped.
 */
#include "check.h"

#include "kernel/migration/crypto_bench.h"

#define BUF_PIECES 3
#define TICK_NS 1000

static uint8_t buf[BUF_PIECES * CRYPTO_BENCH_PIECE];
static uint64_t fake_now;
static unsigned clock_calls;

static uint64_t fake_clock(void)
{
	clock_calls++;
	fake_now += TICK_NS;
	return fake_now;
}

TEST(every_case_runs_over_the_bytes_asked_and_is_timed)
{
	struct crypto_bench_row rows[CRYPTO_BENCH_CASES];
	uint64_t total = 7 * CRYPTO_BENCH_PIECE;    /* more than the buffer: it wraps */

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	crypto_bench_run(buf, sizeof(buf), total, fake_clock, rows);
	CHECK_STR(rows[0].name, "memcpy");
	CHECK_EQ_U(clock_calls, 2 * CRYPTO_BENCH_CASES);
	for (unsigned k = 0; k < CRYPTO_BENCH_CASES; k++) {
		CHECK(rows[k].name != NULL && rows[k].name[0]);
		CHECK_EQ_U(rows[k].bytes, total);
		CHECK_EQ_U(rows[k].ns, TICK_NS);
	}
	/* The input is read only. */
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != (uint8_t)i) {
			CHECK(0);
			break;
		}
}

TEST(a_total_that_is_not_whole_pieces_rounds_up)
{
	struct crypto_bench_row rows[CRYPTO_BENCH_CASES];

	crypto_bench_run(buf, sizeof(buf), CRYPTO_BENCH_PIECE + 1, fake_clock, rows);
	for (unsigned k = 0; k < CRYPTO_BENCH_CASES; k++)
		CHECK_EQ_U(rows[k].bytes, 2 * CRYPTO_BENCH_PIECE);
}

int main(void)
{
	return run_tests();
}
