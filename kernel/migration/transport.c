/* struct mig_transport_ops over TCP streams (transport.h). */
#include "kernel/migration/transport.h"

#include "net/tcp_stream.h"

const struct mig_transport_ops migrate_tcp_ops = {
	.connected = tcp_stream_connected,
	.write = tcp_stream_write,
	.writable = tcp_stream_writable,
	.flush = tcp_stream_flush,
	.read = tcp_stream_read,
	.readable = tcp_stream_readable,
	.error = tcp_stream_error,
	.close = tcp_stream_close,
	.abort = tcp_stream_abort,
	.unacked = tcp_stream_unacked,
};
