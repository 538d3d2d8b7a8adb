/*
 * lwIP's pool bounds, made real. With MEMP_MEM_MALLOC (net/lwipopts.h) lwIP takes
 * every pool element from the heap (net/lwip_heap.c) and, left alone, ignores
 * its MEMP_NUM_* bounds: a peer could make it hold any number of PCBs,
 * segments or reassembly buffers until the heap is gone. The image is linked with
 * --wrap=memp_malloc and --wrap=memp_free (mk/lwip.mk), so every lwIP pool
 * request passes here first: an element past its pool's MEMP_NUM_* bound is
 * refused as an empty static pool would refuse it (NULL, which lwIP handles),
 * and counted.
 *
 * Image only (lwIP's pool types).
 */
#ifndef FERRY_NET_LWIP_POOLS_H
#define FERRY_NET_LWIP_POOLS_H

#include <stdint.h>

/* Requests refused so far because their pool was at its bound. */
uint64_t lwip_pools_refused(void);

#endif
