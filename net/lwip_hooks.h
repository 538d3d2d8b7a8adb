/*
 * The hooks Ferry gives lwIP (LWIP_HOOK_FILENAME in net/lwipopts.h), implemented
 * in net/lwip_port.c: keyed initial sequence numbers (RFC 6528, net/tcp_isn.h).
 * Image only; lwIP's own sources include it.
 */
#ifndef FERRY_NET_LWIP_HOOKS_H
#define FERRY_NET_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

u32_t lwip_port_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
			const ip_addr_t *remote_ip, u16_t remote_port);

#endif
