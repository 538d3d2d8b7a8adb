/*
 * ICMP echo (RFC 792) over lwIP's raw API, the engine of the `ping` command: one
 * echo request in flight at a time, its reply matched by source address,
 * identifier and sequence number. Image only.
 *
 * The caller owns a struct ping: ping_start() opens it for a target, ping_send()
 * sends one echo and stamps it, and the reply (which arrives while the network's
 * poller runs, e.g. within poll_until) sets `replied` and `rtt_us`. ping_stop()
 * closes it; it must be called once for every successful ping_start().
 */
#ifndef FERRY_NET_PING_H
#define FERRY_NET_PING_H

#include <stdbool.h>
#include <stdint.h>

#define PING_DATA_BYTES        56
#define PING_ICMP_HEADER_BYTES 8
/* What an echo (and its reply) carries above IP. */
#define PING_ECHO_BYTES        (PING_ICMP_HEADER_BYTES + PING_DATA_BYTES)

struct raw_pcb;

struct ping {
	/* read by the caller */
	uint16_t seq;            /* of the echo last sent */
	bool replied;            /* its reply has come */
	uint64_t sent_us;        /* clock_us() when it left */
	uint64_t rtt_us;         /* its round trip, once replied */
	/* the engine's own */
	uint32_t target;         /* network byte order */
	struct raw_pcb *pcb;
};

/* Opens an ICMP endpoint for echoes to host (host byte order); FERR_NOMEM. */
int ping_start(struct ping *p, uint32_t host);

/* Sends echo number seq; FERR_NOMEM, or FERR_IO when the stack refuses it. */
int ping_send(struct ping *p, uint16_t seq);

void ping_stop(struct ping *p);

#endif
