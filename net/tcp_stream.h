/*
 * TCP byte streams over lwIP's raw API, for Ferry's own protocols (netbench, live
 * migration). Non-blocking: every call returns at once; progress happens in the
 * network poller, so a caller loops on poll_until() or keeps its state in a poller.
 *
 * A stream owns a receive buffer (lwIP pbufs queued until read) and writes go into
 * lwIP's send buffer (tcp_write with copy). Errors are sticky: once the peer resets,
 * closes or the connection times out, read/write return FERR_IO (or FERR_TIMEOUT
 * for a connect that never completed) and tcp_stream_error() tells which.
 * Image only.
 */
#ifndef FERRY_NET_TCP_STREAM_H
#define FERRY_NET_TCP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tcp_stream;
struct tcp_listener;

/*
 * Starts connecting to ip:port (ip in host byte order) from a random ephemeral
 * port (net/tcp_isn.h); *out is valid at once.
 */
int tcp_stream_connect(uint32_t ip, uint16_t port, struct tcp_stream **out);
/* True once the connection is established; false while connecting or after an error. */
bool tcp_stream_connected(const struct tcp_stream *s);

/*
 * Listens on port; on_accept is called from the poller for each new connection.
 * The callback owns the stream (close it to refuse). Returns FERR_BUSY if the port is taken.
 */
int tcp_listener_open(uint16_t port, void (*on_accept)(struct tcp_stream *s, void *ctx),
		      void *ctx, struct tcp_listener **out);
void tcp_listener_close(struct tcp_listener *l);

/* Queues up to len bytes for sending; returns the count queued (0 when the send buffer is full) or a ferry_err. */
long tcp_stream_write(struct tcp_stream *s, const void *buf, size_t len);
/* Bytes that can be queued now without blocking. */
size_t tcp_stream_writable(const struct tcp_stream *s);
/* Pushes queued data out now (tcp_output). */
int tcp_stream_flush(struct tcp_stream *s);
/* Bytes queued for sending and not yet acknowledged by the peer. */
size_t tcp_stream_unacked(const struct tcp_stream *s);

/* Copies up to len received bytes; returns the count (0 when none yet) or a ferry_err (peer closed: FERR_IO). */
long tcp_stream_read(struct tcp_stream *s, void *buf, size_t len);
/* Bytes received and not yet read. */
size_t tcp_stream_readable(const struct tcp_stream *s);

/* 0 while healthy, else the sticky ferry_err. */
int tcp_stream_error(const struct tcp_stream *s);
/* True when the peer closed its side (a FIN) and the stream did not break otherwise. */
bool tcp_stream_peer_closed(const struct tcp_stream *s);
/*
 * Sends small writes at once instead of holding them for the peer's ACK (Nagle's
 * algorithm off): for request/answer protocols, where each held message would wait
 * for the peer's delayed ACK.
 */
void tcp_stream_set_nodelay(struct tcp_stream *s);

/*
 * A pointer the stream carries for the layer above it (the migration channel's
 * TLS state rides on its TCP stream); NULL until set.
 */
void tcp_stream_set_user(struct tcp_stream *s, void *user);
void *tcp_stream_user(const struct tcp_stream *s);

/* Peer address (host byte order) and port, for messages. */
void tcp_stream_peer(const struct tcp_stream *s, uint32_t *ip, uint16_t *port);

/* Graceful close (FIN after queued data); frees the stream. */
void tcp_stream_close(struct tcp_stream *s);
/* Reset and free at once (a refused or broken peer). */
void tcp_stream_abort(struct tcp_stream *s);

#endif
