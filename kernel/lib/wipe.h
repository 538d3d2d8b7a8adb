/*
 * secure_wipe(): overwrites secrets (keys, generator states, digests of raw
 * entropy) in a way the compiler cannot drop as a dead store, unlike memset
 * before a variable's end of life. Portable; header only.
 */
#ifndef FERRY_LIB_WIPE_H
#define FERRY_LIB_WIPE_H

#include <stddef.h>
#include <stdint.h>

static inline void secure_wipe(void *p, size_t len)
{
	volatile uint8_t *v = p;

	while (len--)
		*v++ = 0;
}

#endif
