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

/*
 * Slicing-by-8 (eight tables, eight bytes per step): the receiving end of a
 * netbench checksums everything it gets, and a byte-at-a-time CRC would cost
 * more than the TCP stack under an emulator.
 */
#define CRC_SLICES 8

static uint32_t crc_table[CRC_SLICES][256];
static bool crc_table_ready;

static void build_crc_table(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? CRC32_POLYNOMIAL ^ (c >> 1) : c >> 1;
		crc_table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int t = 1; t < CRC_SLICES; t++)
			crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^ crc_table[0][crc_table[t - 1][n] & 0xff];
	crc_table_ready = true;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_table_ready)
		build_crc_table();
	crc = ~crc;
	while (len >= CRC_SLICES) {
		uint32_t low = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				      (uint32_t)p[3] << 24);
		uint32_t high = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
				(uint32_t)p[7] << 24;
		crc = crc_table[7][low & 0xff] ^ crc_table[6][(low >> 8) & 0xff] ^
		      crc_table[5][(low >> 16) & 0xff] ^ crc_table[4][low >> 24] ^
		      crc_table[3][high & 0xff] ^ crc_table[2][(high >> 8) & 0xff] ^
		      crc_table[1][(high >> 16) & 0xff] ^ crc_table[0][high >> 24];
		p += CRC_SLICES;
		len -= CRC_SLICES;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
