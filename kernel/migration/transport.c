/*
 * TLS channels over TCP streams as the engine's transport (transport.h): the
 * lower-stream functions the channel reads and writes through, the ops the engine
 * calls, the table of live channels and their poller, and the host's TLS config.
 */
#include "kernel/migration/transport.h"

#include <string.h>

#include "arch/x86/entropy.h"
#include "kernel/config.h"
#include "kernel/host.h"
#include "kernel/lib/errors.h"
#include "kernel/log.h"
#include "kernel/migration/mbedtls_platform.h"
#include "kernel/migration/tls.h"
#include "kernel/poll.h"
#include "net/tcp_stream.h"

static struct mig_tls_config tls_config;
static bool tls_config_ready;
static struct tcp_stream *channels[MIGRATE_CHANNELS_MAX];   /* streams that carry a channel */
/* Where each channel's inner key goes once its handshake is done (NULL: given already). */
static uint8_t *key_outs[MIGRATE_CHANNELS_MAX];

/* ---- the channel's lower stream: a TCP stream ------------------------------------------- */

static bool lower_connected(void *ctx)
{
	return tcp_stream_connected(ctx);
}

static long lower_write(void *ctx, const void *buf, size_t len)
{
	return tcp_stream_write(ctx, buf, len);
}

static long lower_read(void *ctx, void *buf, size_t len)
{
	return tcp_stream_read(ctx, buf, len);
}

static size_t lower_readable(void *ctx)
{
	return tcp_stream_readable(ctx);
}

static int lower_error(void *ctx)
{
	return tcp_stream_error(ctx);
}

static bool lower_peer_closed(void *ctx)
{
	return tcp_stream_peer_closed(ctx);
}

static const struct mig_tls_lower tcp_lower = {
	.connected = lower_connected,
	.write = lower_write,
	.read = lower_read,
	.readable = lower_readable,
	.error = lower_error,
	.peer_closed = lower_peer_closed,
};

/* ---- the table of channels and their poller ----------------------------------------------------- */

static struct mig_tls *channel_of(const struct tcp_stream *s)
{
	return tcp_stream_user(s);
}

/*
 * Once the channel is open, copies its inner key to where the caller of attach wanted it:
 * before the engine can read a byte of the peer's, hence before it derives anything.
 */
static void give_key(const struct tcp_stream *s)
{
	for (unsigned i = 0; i < MIGRATE_CHANNELS_MAX; i++)
		if (channels[i] == s && key_outs[i] && mig_tls_open(channel_of(s))) {
			memcpy(key_outs[i], mig_tls_inner_key(channel_of(s)), MIG_TLS_INNER_KEY_BYTES);
			key_outs[i] = NULL;
		}
}

static void forget(struct tcp_stream *s)
{
	for (unsigned i = 0; i < MIGRATE_CHANNELS_MAX; i++)
		if (channels[i] == s) {
			channels[i] = NULL;
			key_outs[i] = NULL;
		}
}

static void log_open(struct tcp_stream *s, struct mig_tls *t)
{
	uint32_t ip;
	uint16_t port;

	tcp_stream_peer(s, &ip, &port);
	klog_info("migration channel with %u.%u.%u.%u: TLS 1.2 %s, peer %s", ip >> 24, (ip >> 16) & 0xff,
		  (ip >> 8) & 0xff, ip & 0xff, mig_tls_suite(t), mig_tls_peer(t));
}

static void channels_poll(void)
{
	for (unsigned i = 0; i < MIGRATE_CHANNELS_MAX; i++) {
		struct tcp_stream *s = channels[i];
		if (!s)
			continue;
		struct mig_tls *t = channel_of(s);
		bool was_open = mig_tls_open(t);
		mig_tls_step(t);
		if (!was_open && mig_tls_open(t))
			log_open(s, t);
		give_key(s);
		if (mig_tls_open(t) || mig_tls_error(t))
			tcp_stream_flush(s);
	}
}

/* ---- the engine's ops ------------------------------------------------------------------------------ */

static bool op_connected(const struct tcp_stream *s)
{
	give_key(s);
	return mig_tls_open(channel_of(s));
}

static long op_write(struct tcp_stream *s, const void *buf, size_t len)
{
	return mig_tls_write(channel_of(s), buf, len);
}

static size_t op_writable(const struct tcp_stream *s)
{
	return mig_tls_writable(channel_of(s));
}

static int op_flush(struct tcp_stream *s)
{
	int err = mig_tls_step(channel_of(s));

	return err ? err : tcp_stream_flush(s);
}

static long op_read(struct tcp_stream *s, void *buf, size_t len)
{
	long n = mig_tls_read(channel_of(s), buf, len);

	give_key(s);
	return n;
}

static size_t op_readable(const struct tcp_stream *s)
{
	return mig_tls_readable(channel_of(s));
}

/*
 * The channel's error, or the stream's once nothing readable is left: bytes the peer
 * sent before it closed (its last message, an alert) are read first.
 */
static int op_error(const struct tcp_stream *s)
{
	const struct mig_tls *t = channel_of(s);
	int err = mig_tls_error(t);

	if (!err && mig_tls_readable(t) == 0)
		err = tcp_stream_error(s);
	return err;
}

static void op_close(struct tcp_stream *s)
{
	forget(s);
	mig_tls_free(channel_of(s), true);
	tcp_stream_close(s);
}

static void op_abort(struct tcp_stream *s)
{
	forget(s);
	mig_tls_free(channel_of(s), false);
	tcp_stream_abort(s);
}

static size_t op_unacked(const struct tcp_stream *s)
{
	return tcp_stream_unacked(s) + mig_tls_unsent(channel_of(s));
}

static const char *op_why(const struct tcp_stream *s)
{
	return mig_tls_why(channel_of(s));
}

const struct mig_transport_ops migrate_tcp_ops = {
	.connected = op_connected,
	.write = op_write,
	.writable = op_writable,
	.flush = op_flush,
	.read = op_read,
	.readable = op_readable,
	.error = op_error,
	.close = op_close,
	.abort = op_abort,
	.unacked = op_unacked,
	.why = op_why,
};

int migrate_transport_attach(struct tcp_stream *s, enum mig_role role,
			     uint8_t key_out[MIG_TLS_INNER_KEY_BYTES])
{
	int err;

	for (unsigned i = 0; i < MIGRATE_CHANNELS_MAX; i++) {
		if (channels[i])
			continue;
		struct mig_tls *t = mig_tls_new(&tls_config, role, &tcp_lower, s, &err);
		if (!t)
			return err;
		tcp_stream_set_user(s, t);
		channels[i] = s;
		key_outs[i] = key_out;
		memset(key_out, 0, MIG_TLS_INNER_KEY_BYTES);
		return 0;
	}
	return FERR_BUSY;
}


/* ---- the host's TLS config ---------------------------------------------------------------------- */

static int config_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	return entropy_fill(buf, len);
}

/* An ESP file a ferry.cfg key names; NULL (said in the log) when it is named and absent. */
static const struct boot_file *tls_file(const char *key, const char *path)
{
	const struct boot_file *f;

	if (!path[0])
		return NULL;
	f = host_file(path);
	if (!f)
		klog_error("%s %s: no such file on the ESP", key, path);
	return f;
}

void migrate_transport_init(void)
{
	const struct ferry_config *cfg = host_config();
	const struct boot_file *cert = tls_file("migration_cert", cfg->migration_cert);
	const struct boot_file *key = tls_file("migration_key_file", cfg->migration_key_file);
	const struct boot_file *ca = tls_file("migration_ca", cfg->migration_ca);
	struct mig_tls_settings settings = {
		.psk = (const uint8_t *)cfg->migration_key,
		.psk_len = strlen(cfg->migration_key),
		.cert = cert ? cert->data : NULL, .cert_len = cert ? cert->size : 0,
		.key = key ? key->data : NULL, .key_len = key ? key->size : 0,
		.ca = ca ? ca->data : NULL, .ca_len = ca ? ca->size : 0,
		.cipher = cfg->migration_cipher,
		.random = config_random,
	};
	char why[MIG_TLS_WHY_MAX], what[MIG_TLS_WHY_MAX];
	int err;

	poll_register("migration-tls", channels_poll, POLL_BACKGROUND);
	err = mig_tls_heap_init();
	if (err) {
		klog_error("migration channel: no memory for its TLS heap (%s); migrations are off",
			   err_name(err));
		return;
	}
	err = mig_tls_config_init(&tls_config, &settings, why, sizeof(why));
	if (err)
		klog_error("migration channel: %s", why);
	tls_config_ready = true;
	mig_tls_config_describe(&tls_config, what, sizeof(what));
	klog_info("migration channel: TLS 1.2 with %s", what);
}

bool migrate_transport_can_migrate(void)
{
	return tls_config_ready && mig_tls_config_can_migrate(&tls_config);
}
