/* struct mig_transport_ops over TCP streams (migrate_transport.h). */
#include "kernel/migration/transport.h"

#include "net/tcp_stream.h"

static struct tcp_stream *as_stream(void *conn)
{
	return conn;
}

static bool stream_connected(void *conn)
{
	return tcp_stream_connected(as_stream(conn));
}

static long stream_write(void *conn, const void *buf, size_t len)
{
	return tcp_stream_write(as_stream(conn), buf, len);
}

static size_t stream_writable(void *conn)
{
	return tcp_stream_writable(as_stream(conn));
}

static int stream_flush(void *conn)
{
	return tcp_stream_flush(as_stream(conn));
}

static long stream_read(void *conn, void *buf, size_t len)
{
	return tcp_stream_read(as_stream(conn), buf, len);
}

static size_t stream_readable(void *conn)
{
	return tcp_stream_readable(as_stream(conn));
}

static int stream_error(void *conn)
{
	return tcp_stream_error(as_stream(conn));
}

static void stream_close(void *conn)
{
	tcp_stream_close(as_stream(conn));
}

static void stream_abort(void *conn)
{
	tcp_stream_abort(as_stream(conn));
}

static size_t stream_unacked(void *conn)
{
	return tcp_stream_unacked(as_stream(conn));
}

const struct mig_transport_ops migrate_tcp_ops = {
	.connected = stream_connected,
	.write = stream_write,
	.writable = stream_writable,
	.flush = stream_flush,
	.read = stream_read,
	.readable = stream_readable,
	.error = stream_error,
	.close = stream_close,
	.abort = stream_abort,
	.unacked = stream_unacked,
};
