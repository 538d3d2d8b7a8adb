/*
 * The data netbench sends, and the checksum both ends print. Portable (image and
 * host; tests/unit/test_bench_stream.c); tests/netbench_peer.py implements the
 * same definition in Python so that Ferry and Linux agree byte for byte.
 *
 * The stream is a sequence of little-endian 32-bit words; word i is
 *   mix(i mod 16384) XOR (i div 16384)
 * where mix(w) = h(w * 0x9e3779b1) and h(x) = x ^= x >> 15; x *= 0x85ebca77;
 * x ^= x >> 13 (all modulo 2^32). So every 64 KiB block differs from the others,
 * any byte can be produced from its offset alone, and a receiver can check data
 * as it arrives. The checksum is the CRC-32 of IEEE 802.3 (zlib's crc32).
 */
#ifndef FERRY_NET_BENCH_STREAM_H
#define FERRY_NET_BENCH_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_STREAM_BLOCK_WORDS 16384u

/* Fills buf with stream bytes [offset, offset + len). */
void bench_stream_fill(uint64_t offset, uint8_t *buf, size_t len);

/* Continues a CRC-32: crc32_update(0, data, len) equals zlib.crc32(data). */
uint32_t crc32_update(uint32_t crc, const void *data, size_t len);

#endif
