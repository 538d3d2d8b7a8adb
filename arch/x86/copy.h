/*
 * A fast memory copy for the data paths (NIC buffers, lwIP's pbufs, TCP streams).
 * gnu-efi's memcpy, which the image links, copies a byte per loop iteration; this
 * one moves eight bytes per step with REP MOVSQ (SDM Vol. 2B, MOVS) and the tail
 * with REP MOVSB. The areas must not overlap.
 */
#ifndef FERRY_ARCH_X86_COPY_H
#define FERRY_ARCH_X86_COPY_H

#include <stddef.h>
#include <stdint.h>

static inline void *copy_fast(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t quads = n / sizeof(uint64_t);
	size_t bytes = n % sizeof(uint64_t);

	__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(quads) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(bytes) : : "memory");
	return dst;
}

#endif
