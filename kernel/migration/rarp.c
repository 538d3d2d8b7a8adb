/*
 * RARP announcement frames (rarp.h).
 */
#include "kernel/migration/rarp.h"

#include <string.h>

#define ETH_ADDR_BYTES 6
#define ETH_HEADER_BYTES 14
#define ARP_HTYPE_ETHERNET 1
#define ARP_PTYPE_IPV4 0x0800
#define ARP_IPV4_BYTES 4
#define RARP_OP_REQUEST_REVERSE 3

const uint32_t rarp_announce_ms[RARP_ANNOUNCE_COUNT] = { 0, 50, 150, 350, 750 };

static uint8_t *put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

size_t rarp_build_announce(uint8_t out[RARP_FRAME_BYTES], const uint8_t mac[6])
{
	uint8_t *p = out;

	memset(out, 0, RARP_FRAME_BYTES);
	memset(p, 0xff, ETH_ADDR_BYTES);             /* broadcast */
	memcpy(p + ETH_ADDR_BYTES, mac, ETH_ADDR_BYTES);
	p = put_be16(p + 2 * ETH_ADDR_BYTES, RARP_ETHERTYPE);
	p = put_be16(p, ARP_HTYPE_ETHERNET);
	p = put_be16(p, ARP_PTYPE_IPV4);
	*p++ = ETH_ADDR_BYTES;
	*p++ = ARP_IPV4_BYTES;
	p = put_be16(p, RARP_OP_REQUEST_REVERSE);
	memcpy(p, mac, ETH_ADDR_BYTES);              /* sender hardware address */
	p += ETH_ADDR_BYTES + ARP_IPV4_BYTES;        /* sender protocol address: 0 */
	memcpy(p, mac, ETH_ADDR_BYTES);              /* target hardware address */
	/* target protocol address 0, then padding to the minimum frame */
	return RARP_FRAME_BYTES;
}
