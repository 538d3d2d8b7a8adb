/*
 * An in-memory byte stream for the migration channel's host tests and fuzzers: two
 * queues (one per direction) with an end each that speaks struct mig_tls_lower
 * (kernel/migration/tls.h). A test can limit how much one read or write moves, cut
 * or close the link, and reach into the queues to read or alter the bytes in flight.
 */
#ifndef FERRY_TESTS_TLS_PIPE_H
#define FERRY_TESTS_TLS_PIPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/migration/tls.h"

#define PIPE_QUEUE_BYTES (512 * 1024)

struct pipe_queue {
	uint8_t buf[PIPE_QUEUE_BYTES];
	size_t start, end;
	bool closed;                 /* the writer closed: reads fail once empty */
};

struct pipe_end {
	struct pipe_queue *in, *out;
	bool connected;
	bool broken;                 /* a reset: every call fails */
	size_t max_io;               /* bytes one read or write may move (0: unlimited) */
	unsigned long writes;        /* write calls that moved bytes */
};

struct pipe {
	struct pipe_queue ab, ba;
	struct pipe_end a, b;        /* a writes ab, reads ba */
};

static inline void pipe_init(struct pipe *p)
{
	memset(p, 0, sizeof(*p));
	p->a = (struct pipe_end){ .in = &p->ba, .out = &p->ab, .connected = true };
	p->b = (struct pipe_end){ .in = &p->ab, .out = &p->ba, .connected = true };
}

static inline size_t pipe_queued(const struct pipe_queue *q)
{
	return q->end - q->start;
}

static inline bool pipe_connected(void *ctx)
{
	const struct pipe_end *e = ctx;

	return e->connected && !e->broken;
}

static inline long pipe_write(void *ctx, const void *buf, size_t len)
{
	struct pipe_end *e = ctx;
	struct pipe_queue *q = e->out;

	if (e->broken || q->closed)
		return FERR_IO;
	if (e->max_io && len > e->max_io)
		len = e->max_io;
	if (PIPE_QUEUE_BYTES - q->end < len) {
		memmove(q->buf, q->buf + q->start, q->end - q->start);
		q->end -= q->start;
		q->start = 0;
	}
	if (len > PIPE_QUEUE_BYTES - q->end)
		len = PIPE_QUEUE_BYTES - q->end;
	memcpy(q->buf + q->end, buf, len);
	q->end += len;
	e->writes += len > 0;
	return (long)len;
}

static inline long pipe_read(void *ctx, void *buf, size_t len)
{
	struct pipe_end *e = ctx;
	struct pipe_queue *q = e->in;

	if (e->broken)
		return FERR_IO;
	if (e->max_io && len > e->max_io)
		len = e->max_io;
	if (len > pipe_queued(q))
		len = pipe_queued(q);
	if (len == 0)
		return q->closed ? FERR_IO : 0;
	memcpy(buf, q->buf + q->start, len);
	q->start += len;
	return (long)len;
}

static inline size_t pipe_readable(void *ctx)
{
	const struct pipe_end *e = ctx;

	return pipe_queued(e->in);
}

static inline int pipe_error(void *ctx)
{
	const struct pipe_end *e = ctx;

	if (e->broken || (e->in->closed && pipe_queued(e->in) == 0))
		return FERR_IO;
	return 0;
}

static inline bool pipe_peer_closed(void *ctx)
{
	const struct pipe_end *e = ctx;

	return !e->broken;
}

/* A fixed byte sequence for mbedTLS's random source where only determinism matters (the
 * benchmark and the fuzzer: no secret is at stake, and a run repeats exactly). */
static inline int pipe_fixed_random(void *ctx, void *buf, size_t len)
{
	static uint64_t counter;
	uint8_t *p = buf;

	(void)ctx;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(++counter * 0x9E3779B97F4A7C15ull >> 56);
	return 0;
}

static const struct mig_tls_lower pipe_lower = {
	.connected = pipe_connected,
	.write = pipe_write,
	.read = pipe_read,
	.readable = pipe_readable,
	.error = pipe_error,
	.peer_closed = pipe_peer_closed,
};

#endif
