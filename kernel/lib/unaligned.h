/*
 * Loads of little-endian fields at any alignment from tables others laid out (ACPI's,
 * say): through memcpy, which the compiler turns into one move on x86 (itself
 * little-endian, so the value needs no swap). Portable.
 */
#ifndef FERRY_LIB_UNALIGNED_H
#define FERRY_LIB_UNALIGNED_H

#include <stdint.h>
#include <string.h>

static inline uint32_t load_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
