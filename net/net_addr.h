/*
 * Text forms of IPv4 endpoints for the network commands. Portable (image and host;
 * tests/unit/test_net_addr.c). Addresses are in host byte order.
 */
#ifndef FERRY_NET_NET_ADDR_H
#define FERRY_NET_NET_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#define NET_ADDR_TEXT_MAX 16   /* "255.255.255.255" and its NUL */

/* Writes A.B.C.D into buf (at least NET_ADDR_TEXT_MAX bytes). */
void net_format_ipv4(uint32_t addr, char *buf);

/*
 * Parses "A.B.C.D" or "A.B.C.D:PORT" (PORT 1-65535); *port is default_port when
 * absent. False, with nothing stored, when anything is malformed.
 */
bool net_parse_host_port(const char *s, uint16_t default_port, uint32_t *addr, uint16_t *port);

#endif
