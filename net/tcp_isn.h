/*
 * TCP initial sequence numbers as RFC 6528 (section 3) defines them:
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a timer ticking every 4 microseconds (RFC 793's ISN clock), F the first 32
 * bits of BLAKE2s keyed with a 256-bit secret over the connection's four-tuple.
 * An off-path attacker who does not know the secret cannot predict the ISN of a
 * connection (and so cannot inject into it, as lwIP's default, a counter, allows),
 * while ISNs of one four-tuple still grow with time, which keeps old duplicates
 * out of a new incarnation. net/lwip_port.c keeps the secret (from
 * arch/x86/entropy.h) and hands this to lwIP as LWIP_HOOK_TCP_ISN.
 *
 * Portable (image and host).
 */
#ifndef FERRY_NET_TCP_ISN_H
#define FERRY_NET_TCP_ISN_H

#include <stdint.h>

#define TCP_ISN_SECRET_BYTES 32
#define TCP_ISN_TICK_NS 4000u     /* M's period: 4 microseconds */

/* The ISN of a connection at `now_ns` (addresses in host byte order). */
uint32_t tcp_isn_compute(const uint8_t secret[TCP_ISN_SECRET_BYTES], uint32_t local_ip,
			 uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
			 uint64_t now_ns);

/* An ephemeral port drawn from a random 16-bit value: in the IANA range 49152-65535 (RFC 6335). */
#define TCP_EPHEMERAL_FIRST 49152u
#define TCP_EPHEMERAL_COUNT 16384u
uint16_t tcp_ephemeral_port(uint32_t random);

#endif
