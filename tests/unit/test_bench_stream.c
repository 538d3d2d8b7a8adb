/* netbench's stream and CRC-32 (net/bench_stream.c): fixed points shared with tests/netbench_peer.py. */
#include "check.h"
#include "net/bench_stream.h"

#include <stdint.h>
#include <stdlib.h>

/* zlib.crc32 of the stream's first MiB, computed with tests/netbench_peer.py. */
#define BENCH_CRC_1MIB 0xdcf9e0cfu

TEST(crc32_matches_the_standard_check_value)
{
	CHECK_EQ_U(crc32_update(0, "123456789", 9), 0xcbf43926u);
	CHECK_EQ_U(crc32_update(0, "", 0), 0);
	/* Incremental equals one pass. */
	uint32_t c = crc32_update(0, "1234", 4);
	CHECK_EQ_U(crc32_update(c, "56789", 5), 0xcbf43926u);
}

TEST(stream_is_position_independent)
{
	enum { LEN = 3 * 65536 + 123 };
	uint8_t *whole = malloc(LEN), *piece = malloc(LEN);
	bench_stream_fill(0, whole, LEN);
	/* Odd offsets and lengths give the same bytes as one fill from the start. */
	uint64_t off = 0;
	size_t step = 1;
	while (off < LEN) {
		size_t n = step < LEN - off ? step : LEN - off;
		bench_stream_fill(off, piece + off, n);
		off += n;
		step = step * 3 + 1;
	}
	CHECK(memcmp(whole, piece, LEN) == 0);
	/* Blocks differ from each other. */
	CHECK(memcmp(whole, whole + 65536, 65536) != 0);
	free(whole);
	free(piece);
}

TEST(stream_known_values)
{
	uint8_t b[8];
	bench_stream_fill(0, b, 8);
	/* word 0 = mix(0) = 0; word 1 = mix(1): 0x9e3779b1 -> h() */
	uint32_t x = 0x9e3779b1u;
	x ^= x >> 15;
	x *= 0x85ebca77u;
	x ^= x >> 13;
	CHECK_EQ_U(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24, 0);
	CHECK_EQ_U(b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24, x);
	/* word 16384 = mix(0) ^ 1 */
	bench_stream_fill(65536, b, 4);
	CHECK_EQ_U(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24, 1);
}

TEST(crc_of_one_mib_matches_the_python_peer)
{
	/* zlib.crc32 of the first MiB as tests/netbench_peer.py builds it. */
	enum { LEN = 1024 * 1024 };
	uint8_t *buf = malloc(LEN);
	bench_stream_fill(0, buf, LEN);
	CHECK_EQ_U(crc32_update(0, buf, LEN), BENCH_CRC_1MIB);
	free(buf);
}

int main(void)
{
	return run_tests();
}
