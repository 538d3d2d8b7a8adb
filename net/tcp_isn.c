/* RFC 6528 initial sequence numbers and random ephemeral ports; see tcp_isn.h. */
#include "net/tcp_isn.h"

#include "kernel/lib/blake2s.h"

#define TUPLE_BYTES 12
#define ISN_BYTES 4

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint32_t tcp_isn_compute(const uint8_t secret[TCP_ISN_SECRET_BYTES], uint32_t local_ip,
			 uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
			 uint64_t now_ns)
{
	uint8_t tuple[TUPLE_BYTES], f[ISN_BYTES];
	uint32_t m = (uint32_t)(now_ns / TCP_ISN_TICK_NS);

	put32(tuple, local_ip);
	put32(tuple + 4, remote_ip);
	put32(tuple + 8, (uint32_t)local_port << 16 | remote_port);
	blake2s(f, sizeof(f), secret, TCP_ISN_SECRET_BYTES, tuple, sizeof(tuple));
	return m + ((uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24);
}

uint16_t tcp_ephemeral_port(uint32_t random)
{
	return (uint16_t)(TCP_EPHEMERAL_FIRST + random % TCP_EPHEMERAL_COUNT);
}
