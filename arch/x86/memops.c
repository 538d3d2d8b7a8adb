/*
 * memcpy and memset for the image, with REP MOVSQ/STOSQ for the bulk and REP
 * MOVSB/STOSB for the tail (SDM Vol. 2B, MOVS and STOS). gnu-efi's libefi has its own,
 * copying a byte per loop iteration; the Makefile links a copy of libefi in which those
 * two are weak, so these win. Guest RAM zeroing, page copies in a migration and the NIC
 * paths all go through here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;
	size_t quads = n / sizeof(uint64_t);
	size_t bytes = n % sizeof(uint64_t);

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(quads) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(bytes) : : "memory");
	return dst;
}

void *memset(void *dst, int value, size_t n)
{
	void *d = dst;
	uint64_t pattern = (uint8_t)value * 0x0101010101010101ull;   /* the byte in every lane */
	size_t quads = n / sizeof(uint64_t);
	size_t bytes = n % sizeof(uint64_t);

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(pattern) : "memory");
	return dst;
}
