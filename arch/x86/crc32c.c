/* CRC-32C with the SSE4.2 CRC32 instruction, or a byte table; see crc32c.h. */
#include "arch/x86/crc32c.h"

#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78u
#define BITS_PER_BYTE 8
#define WORD_BYTES 8

static uint32_t table[256];
static bool probed, use_hardware, forced_software;

static void probe(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (unsigned b = 0; b < BITS_PER_BYTE; b++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		table[i] = c;
	}
	use_hardware = cpuid(1, 0).ecx & CPUID_1_ECX_SSE42;
	probed = true;
}

static bool hardware(void)
{
	if (!probed)
		probe();
	return use_hardware && !forced_software;
}

bool crc32c_hardware(void)
{
	return hardware();
}

void crc32c_force_software(bool software)
{
	forced_software = software;
}

static uint32_t software_update(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> BITS_PER_BYTE);
	return crc;
}

static inline uint64_t crc32_u64(uint64_t crc, uint64_t word)
{
	__asm__("crc32q %1, %0" : "+r"(crc) : "rm"(word));
	return crc;
}

static inline uint32_t crc32_u8(uint32_t crc, uint8_t byte)
{
	__asm__("crc32b %1, %0" : "+r"(crc) : "rm"(byte));
	return crc;
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!hardware())
		return software_update(crc, p, len);
	uint64_t c = crc;
	for (; len >= WORD_BYTES; len -= WORD_BYTES, p += WORD_BYTES)
		c = crc32_u64(c, load64(p));
	crc = (uint32_t)c;
	while (len--)
		crc = crc32_u8(crc, *p++);
	return crc;
}

uint32_t crc32c(const void *data, size_t len)
{
	return ~crc32c_update(~0u, data, len);
}

void crc32c_update_lanes(uint32_t crc[CRC32C_LANES], const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!hardware()) {
		for (unsigned i = 0; i < CRC32C_LANES; i++)
			crc[i] = software_update(crc[i], p + i * len, len);
		return;
	}
	uint64_t c0 = crc[0], c1 = crc[1], c2 = crc[2], c3 = crc[3];
	for (size_t at = 0; at + WORD_BYTES <= len; at += WORD_BYTES) {
		c0 = crc32_u64(c0, load64(p + at));
		c1 = crc32_u64(c1, load64(p + len + at));
		c2 = crc32_u64(c2, load64(p + 2 * len + at));
		c3 = crc32_u64(c3, load64(p + 3 * len + at));
	}
	crc[0] = (uint32_t)c0;
	crc[1] = (uint32_t)c1;
	crc[2] = (uint32_t)c2;
	crc[3] = (uint32_t)c3;
}
