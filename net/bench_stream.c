/* netbench's data stream and CRC-32; see bench_stream.h. */
#include "net/bench_stream.h"

#include <stdbool.h>

#define MIX_MULTIPLIER   0x9e3779b1u
#define MIX_MULTIPLIER_2 0x85ebca77u
#define CRC32_POLYNOMIAL 0xedb88320u   /* IEEE 802.3, bit-reversed */

static uint32_t mix(uint32_t w)
{
	uint32_t x = w * MIX_MULTIPLIER;
	x ^= x >> 15;
	x *= MIX_MULTIPLIER_2;
	x ^= x >> 13;
	return x;
}

static uint32_t stream_word(uint64_t index)
{
	return mix((uint32_t)(index % BENCH_STREAM_BLOCK_WORDS)) ^
	       (uint32_t)(index / BENCH_STREAM_BLOCK_WORDS);
}

void bench_stream_fill(uint64_t offset, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		uint64_t pos = offset + done;
		uint32_t word = stream_word(pos / 4);
		unsigned byte = pos % 4;
		if (byte == 0 && len - done >= 4) {
			buf[done] = (uint8_t)word;
			buf[done + 1] = (uint8_t)(word >> 8);
			buf[done + 2] = (uint8_t)(word >> 16);
			buf[done + 3] = (uint8_t)(word >> 24);
			done += 4;
		} else {
			buf[done++] = (uint8_t)(word >> (8 * byte));
		}
	}
}

static uint32_t crc_table[256];
static bool crc_table_ready;

static void build_crc_table(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? CRC32_POLYNOMIAL ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
	crc_table_ready = true;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_table_ready)
		build_crc_table();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
