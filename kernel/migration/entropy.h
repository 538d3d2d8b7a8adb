/*
 * Random bytes for migration nonces and ids. The image's implementation is
 * arch/x86/entropy.c (RDSEED, else RDRAND, mixed with the TSC); host builds use
 * kernel/migration/entropy_host.c (getrandom).
 */
#ifndef FERRY_MIGRATION_ENTROPY_H
#define FERRY_MIGRATION_ENTROPY_H

#include <stddef.h>

/* Fills buf with len unpredictable bytes; 0, or FERR_NOTSUP when no source works. */
int entropy_fill(void *buf, size_t len);

#endif
