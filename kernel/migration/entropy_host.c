/*
 * entropy_fill() for host builds (unit tests, fuzzers, benchmarks): getrandom(2).
 */
#ifdef FERRY_HOST
#define _GNU_SOURCE
#include "kernel/migration/entropy.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "kernel/lib/errors.h"

int entropy_fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return FERR_NOTSUP;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
#endif
