/*
 * The image's source of unpredictable bytes: RDSEED, else RDRAND, each word mixed
 * with the TSC (arch/x86/entropy.c). The migration service hands it to the engine as
 * its env->random; host builds bring their own. Image only.
 */
#ifndef FERRY_ARCH_X86_ENTROPY_H
#define FERRY_ARCH_X86_ENTROPY_H

#include <stddef.h>

/* Fills buf with len unpredictable bytes; 0, or FERR_NOTSUP when no source works. */
int entropy_fill(void *buf, size_t len);

#endif
