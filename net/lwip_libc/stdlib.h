/*
 * The one <stdlib.h> function lwIP's core uses (atoi, in netif_find), for the
 * lwIP objects only (mk/lwip.mk puts this folder on their include path). lwIP's
 * memory comes from net/lwip_heap.c, never from malloc.
 */
#ifndef FERRY_LWIP_LIBC_STDLIB_H
#define FERRY_LWIP_LIBC_STDLIB_H

int lwip_port_atoi(const char *s);
#define atoi(s) lwip_port_atoi(s)

#endif
