/*
 * The platform side of lwIP in Ferry (net/lwip_port.c): its heap, taken from
 * Ferry's frames and charged to the "lwip" owner, and the few functions lwIP
 * expects from a system (sys_now, diagnostics, assertions, random numbers).
 * Image only.
 */
#ifndef FERRY_NET_LWIP_PORT_H
#define FERRY_NET_LWIP_PORT_H

#include <stddef.h>

#define LWIP_PORT_HEAP_BYTES (16u * 1024 * 1024)

/* Allocates lwIP's heap; FERR_NOMEM when the frames are not there. */
int lwip_port_init(void);

#endif
