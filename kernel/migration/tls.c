/*
 * The migration channel (tls.h): the preamble, mbedTLS's TLS 1.2 over the lower
 * stream through BIO callbacks, the output buffer, and mbedTLS's errors in words.
 */
#include "kernel/migration/tls.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/migration/preamble.h"
#include "mbedtls/platform.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/ssl.h"

/* mbedTLS's largest record on the wire: the payload and what the suite adds (RFC 5246 6.2.3). */
#define RECORD_PAYLOAD_MAX 16384
#define RECORD_WIRE_MAX (RECORD_PAYLOAD_MAX + 512)
#define OUT_BYTES (2 * RECORD_WIRE_MAX)
#define WHY_BYTES MIG_TLS_WHY_MAX
#define PEER_BYTES 96
/* RFC 5705: the exporter's label, and what it derives from: client_random || server_random. */
#define EXPORTER_LABEL "EXPORTER-ferry-migration-inner-key"
#define HELLO_RANDOM_BYTES 32
#define MASTER_SECRET_BYTES 48
/* TLS alert descriptions (RFC 5246 7.2, RFC 4279 2) the words below name. */
#define ALERT_BAD_RECORD_MAC 20
#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_BAD_CERTIFICATE 42
#define ALERT_UNSUPPORTED_CERTIFICATE 43
#define ALERT_CERTIFICATE_EXPIRED 45
#define ALERT_CERTIFICATE_UNKNOWN 46
#define ALERT_UNKNOWN_CA 48
#define ALERT_DECRYPT_ERROR 51
#define ALERT_PROTOCOL_VERSION 70
#define ALERT_INSUFFICIENT_SECURITY 71
#define ALERT_UNKNOWN_PSK_IDENTITY 115
/* The alert description in a received alert record (RFC 5246 7.2: level, description). */
#define ALERT_DESCRIPTION_OFFSET 1

struct mig_tls {
	enum mig_tls_state state;
	enum mig_role role;
	const struct mig_tls_config *cfg;
	const struct mig_tls_lower *lower;
	void *lower_ctx;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int err;
	char why[WHY_BYTES];
	char peer[PEER_BYTES];
	uint8_t inner_key[MIG_TLS_INNER_KEY_BYTES];
	bool have_inner_key;
	bool saw_first_byte;                        /* source: the destination's first byte was TLS */
	uint8_t pre[MIG_PREAMBLE_ABORT_MAX];        /* the hello read, or the refusal frame */
	size_t pre_have;
	size_t out_start, out_end;                  /* ciphertext [start, end) waits in out */
	uint8_t out[OUT_BYTES];
};

/* ---- failing -------------------------------------------------------------------------- */

static int drain(struct mig_tls *t);

/* The channel fails for good; what it still has to say (an alert, a refusal) goes out. */
static int fail(struct mig_tls *t, int err, const char *why)
{
	if (t->state != MIG_TLS_FAILED) {
		t->state = MIG_TLS_FAILED;
		t->err = err;
		fmt_snprintf(t->why, sizeof(t->why), "%s", why);
	}
	drain(t);
	return t->err;
}

/* True when the suite agreed on (or being negotiated) authenticates with the PSK. */
static bool psk_suite(const struct mig_tls *t)
{
	const mbedtls_ssl_session *s = t->ssl.session_negotiate ? t->ssl.session_negotiate : t->ssl.session;
	const char *name = s ? mbedtls_ssl_get_ciphersuite_name(s->ciphersuite) : NULL;

	return name && strstr(name, "-PSK-");
}

static const char *alert_words(const struct mig_tls *t, unsigned alert, bool handshake)
{
	switch (alert) {
	case ALERT_BAD_RECORD_MAC:
	case ALERT_DECRYPT_ERROR:
		if (!handshake)
			return "the peer found a TLS record that failed its authentication";
		return psk_suite(t) ? "wrong migration key: the peer could not verify our TLS Finished"
				    : "the peer could not verify our TLS Finished (the handshake was altered)";
	case ALERT_HANDSHAKE_FAILURE:
	case ALERT_INSUFFICIENT_SECURITY:
		return "no TLS cipher suite or credentials in common with the peer (migration_cipher, "
		       "migration_key, certificates)";
	case ALERT_BAD_CERTIFICATE:
	case ALERT_UNSUPPORTED_CERTIFICATE:
	case ALERT_CERTIFICATE_EXPIRED:
	case ALERT_CERTIFICATE_UNKNOWN:
	case ALERT_UNKNOWN_CA:
		return "the peer refused our certificate (not signed by its migration_ca?)";
	case ALERT_PROTOCOL_VERSION:
		return "the peer does not speak TLS 1.2";
	case ALERT_UNKNOWN_PSK_IDENTITY:
		return "the peer does not know our PSK identity";
	}
	return NULL;
}

/* Why the peer's certificate was not accepted, from mbedTLS's verify flags. */
static const char *verify_words(uint32_t flags)
{
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return "the peer's certificate is not signed by migration_ca";
	if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE))
		return "the peer's certificate does not allow TLS (key usage)";
	if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
		return "the peer's certificate uses a hash, algorithm or key size Ferry refuses";
	if (flags & MBEDTLS_X509_BADCERT_MISSING)
		return "the peer sent no certificate";
	return "the peer's certificate did not verify";
}

/* mbedTLS's error `ret`, in words, with the ferry_err it means. */
static int fail_mbed(struct mig_tls *t, int ret)
{
	char why[WHY_BYTES];
	bool handshake = t->state == MIG_TLS_HANDSHAKE;
	const char *words = NULL;
	int err = FERR_PROTO;

	switch (ret) {
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: {
		unsigned alert = t->ssl.in_msg ? t->ssl.in_msg[ALERT_DESCRIPTION_OFFSET] : 0;
		words = alert_words(t, alert, handshake);
		err = alert == ALERT_HANDSHAKE_FAILURE || alert == ALERT_PROTOCOL_VERSION ||
		      alert == ALERT_INSUFFICIENT_SECURITY ? FERR_NOTSUP : FERR_AUTH;
		if (!words) {
			fmt_snprintf(why, sizeof(why), "the peer sent TLS alert %u", alert);
			return fail(t, err, why);
		}
		break;
	}
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		words = !handshake ? "a TLS record failed its authentication (the stream was altered)"
			: psk_suite(t) ? "wrong migration key: the peer's TLS Finished did not verify"
				       : "the peer's TLS Finished did not verify (the handshake was altered)";
		err = FERR_AUTH;
		break;
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		words = "no TLS cipher suite or credentials in common with the peer (migration_cipher, "
			"migration_key, certificates)";
		err = FERR_NOTSUP;
		break;
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		words = verify_words(mbedtls_ssl_get_verify_result(&t->ssl));
		err = FERR_AUTH;
		break;
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		words = "the source sent no certificate (it has no migration_cert?)";
		err = FERR_AUTH;
		break;
	case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY:
		words = "the source's PSK identity is unknown here";
		err = FERR_AUTH;
		break;
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
		words = "the peer does not speak TLS 1.2";
		err = FERR_NOTSUP;
		break;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		words = "no memory for TLS (the channel heap is full)";
		err = FERR_NOMEM;
		break;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		words = "the peer closed the connection";
		err = FERR_IO;
		break;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		/* mbedTLS sees any end of the stream as EOF; the stream knows a close from a loss. */
		if (handshake && t->role == MIG_ROLE_SOURCE && !t->saw_first_byte)
			words = "the destination closed the connection without answering (not a Ferry migration listener?)";
		else if (t->lower->peer_closed && !t->lower->peer_closed(t->lower_ctx))
			words = handshake ? "the connection was lost during the TLS handshake" : "the connection was lost";
		else
			words = handshake ? "the peer closed the connection during the TLS handshake"
					  : "the peer closed the connection";
		err = FERR_IO;
		break;
	}
	if (t->lower->error(t->lower_ctx) && !words) {
		words = handshake ? "the connection was lost during the TLS handshake" : "the connection was lost";
		err = FERR_IO;
	}
	if (!words) {
		fmt_snprintf(why, sizeof(why), "TLS %s failed (mbedTLS -0x%04x)",
			     handshake ? "handshake" : "record", (unsigned)-ret);
		return fail(t, err, why);
	}
	return fail(t, err, words);
}

/* ---- the output buffer and the BIO callbacks ---------------------------------------------- */

static size_t out_room(const struct mig_tls *t)
{
	return OUT_BYTES - (t->out_end - t->out_start);
}

/* Appends up to len bytes; returns how many fit. */
static size_t out_put(struct mig_tls *t, const void *data, size_t len)
{
	if (len > out_room(t))
		len = out_room(t);
	if (OUT_BYTES - t->out_end < len) {
		memmove(t->out, t->out + t->out_start, t->out_end - t->out_start);
		t->out_end -= t->out_start;
		t->out_start = 0;
	}
	memcpy(t->out + t->out_end, data, len);
	t->out_end += len;
	return len;
}

/* Hands buffered ciphertext to the lower stream; 0 or its error. */
static int drain(struct mig_tls *t)
{
	while (t->out_end > t->out_start) {
		long n = t->lower->write(t->lower_ctx, t->out + t->out_start, t->out_end - t->out_start);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		t->out_start += (size_t)n;
	}
	if (t->out_start == t->out_end)
		t->out_start = t->out_end = 0;
	return 0;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct mig_tls *t = ctx;
	size_t n = out_put(t, buf, len);

	return n ? (int)n : MBEDTLS_ERR_SSL_WANT_WRITE;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct mig_tls *t = ctx;

	if (t->role == MIG_ROLE_SOURCE && !t->saw_first_byte) {
		/*
		 * The destination answers with a TLS record (a handshake, or an alert), or
		 * (an older peer, a refusal) with a v1 frame, whose type is far below TLS's.
		 */
		long n = t->lower->read(t->lower_ctx, t->pre, 1);
		if (n <= 0)
			return n == 0 ? MBEDTLS_ERR_SSL_WANT_READ : 0;
		if (t->pre[0] < MIG_PREAMBLE_TLS_FIRST_TYPE || t->pre[0] > MIG_PREAMBLE_TLS_LAST_TYPE) {
			t->pre_have = 1;
			t->state = MIG_TLS_REFUSED;
			return MBEDTLS_ERR_SSL_WANT_READ;
		}
		t->saw_first_byte = true;
		buf[0] = t->pre[0];
		return 1;
	}
	long n = t->lower->read(t->lower_ctx, buf, len);
	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	/* A closed or broken stream is an end of input to mbedTLS; the stream keeps which. */
	return n < 0 ? 0 : (int)n;
}

/* RFC 5705 over the session's master secret: the inner protocol's key. */
static int export_keys(void *ctx, const unsigned char *ms, const unsigned char *kb, size_t maclen,
		       size_t keylen, size_t ivlen, const unsigned char client_random[HELLO_RANDOM_BYTES],
		       const unsigned char server_random[HELLO_RANDOM_BYTES], mbedtls_tls_prf_types prf)
{
	struct mig_tls *t = ctx;
	unsigned char randoms[2 * HELLO_RANDOM_BYTES];

	(void)kb;
	(void)maclen;
	(void)keylen;
	(void)ivlen;
	memcpy(randoms, client_random, HELLO_RANDOM_BYTES);
	memcpy(randoms + HELLO_RANDOM_BYTES, server_random, HELLO_RANDOM_BYTES);
	int ret = mbedtls_ssl_tls_prf(prf, ms, MASTER_SECRET_BYTES, EXPORTER_LABEL, randoms,
				      sizeof(randoms), t->inner_key, sizeof(t->inner_key));
	t->have_inner_key = ret == 0;
	return ret;
}

/* ---- setting up ----------------------------------------------------------------------------- */

static const mbedtls_ecp_group_id curves[] = { MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
			      MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE };
static const int sig_hashes[] = { MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA512,
				  MBEDTLS_MD_NONE };

static int configure(struct mig_tls *t)
{
	const struct mig_tls_config *c = t->cfg;
	mbedtls_ssl_config *conf = &t->conf;
	int ret;

	ret = mbedtls_ssl_config_defaults(conf, t->role == MIG_ROLE_SOURCE ? MBEDTLS_SSL_IS_CLIENT
									 : MBEDTLS_SSL_IS_SERVER,
					  MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret)
		return ret;
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(conf, mbedtls_hmac_drbg_random, (void *)&c->drbg);
	mbedtls_ssl_conf_ciphersuites(conf, t->role == MIG_ROLE_SOURCE ? c->client_suites : c->server_suites);
	mbedtls_ssl_conf_curves(conf, curves);
	mbedtls_ssl_conf_sig_hashes(conf, sig_hashes);
	mbedtls_ssl_conf_export_keys_ext_cb(conf, export_keys, t);
	mbedtls_ssl_conf_extended_master_secret(conf, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	if (c->have_psk) {
		ret = mbedtls_ssl_conf_psk(conf, c->psk, c->psk_len,
					   (const unsigned char *)MIG_TLS_PSK_IDENTITY,
					   sizeof(MIG_TLS_PSK_IDENTITY) - 1);
		if (ret)
			return ret;
	}
	/* With certificates each side requires the other's; a PSK suite asks for none. */
	mbedtls_ssl_conf_authmode(conf, c->have_certs ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
	if (c->have_certs) {
		mbedtls_ssl_conf_ca_chain(conf, (mbedtls_x509_crt *)&c->ca, NULL);
		ret = mbedtls_ssl_conf_own_cert(conf, (mbedtls_x509_crt *)&c->own_cert,
						(mbedtls_pk_context *)&c->own_key);
		if (ret)
			return ret;
	}
	return 0;
}

struct mig_tls *mig_tls_new(const struct mig_tls_config *cfg, enum mig_role role,
			    const struct mig_tls_lower *lower, void *lower_ctx, int *err)
{
	struct mig_tls *t = mbedtls_calloc(1, sizeof(*t));

	*err = FERR_NOMEM;
	if (!t)
		return NULL;
	t->state = MIG_TLS_CONNECTING;
	t->role = role;
	t->cfg = cfg;
	t->lower = lower;
	t->lower_ctx = lower_ctx;
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_ssl_init(&t->ssl);
	/* Without credentials a destination only refuses, in the preamble: no TLS state for it. */
	int ret = 0;
	if (mig_tls_config_can_migrate(cfg)) {
		ret = configure(t);
		if (!ret)
			ret = mbedtls_ssl_setup(&t->ssl, &t->conf);
	}
	if (ret) {
		mig_tls_free(t, false);
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	*err = 0;
	return t;
}

void mig_tls_free(struct mig_tls *t, bool graceful)
{
	if (!t)
		return;
	if (graceful) {
		if (t->state == MIG_TLS_OPEN)
			mbedtls_ssl_close_notify(&t->ssl);
		drain(t);
	}
	mbedtls_ssl_free(&t->ssl);
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_platform_zeroize(t, sizeof(*t));
	mbedtls_free(t);
}

/* ---- the preamble and the handshake ---------------------------------------------------------- */

/* Destination: reads and checks the source's hello; may refuse. */
static int read_hello(struct mig_tls *t)
{
	struct mig_preamble_verdict v;

	while (t->pre_have < MIG_PREAMBLE_HELLO_BYTES) {
		size_t want = t->pre_have < MIG_PREAMBLE_HEADER_BYTES ? MIG_PREAMBLE_HEADER_BYTES
								     : MIG_PREAMBLE_HELLO_BYTES;
		long n = t->lower->read(t->lower_ctx, t->pre + t->pre_have, want - t->pre_have);
		if (n < 0)
			return fail(t, FERR_IO, "the source closed the connection before its version hello");
		if (n == 0)
			return 0;
		t->pre_have += (size_t)n;
		mig_preamble_check(t->pre, t->pre_have, mig_tls_config_can_migrate(t->cfg), &v);
		if (v.err) {
			uint8_t frame[MIG_PREAMBLE_ABORT_MAX];
			out_put(t, frame, mig_preamble_abort(frame, v.reason, v.text));
			drain(t);
			return fail(t, v.err, v.why);
		}
	}
	t->state = MIG_TLS_HANDSHAKE;
	return 0;
}

/* Source: the destination answered with a v1 frame instead of TLS: read it and say why. */
static int read_refusal(struct mig_tls *t)
{
	char text[MIG_PREAMBLE_TEXT_MAX + 1], why[WHY_BYTES];
	size_t need = MIG_PREAMBLE_HEADER_BYTES;
	unsigned reason;

	for (;;) {
		if (t->pre_have >= MIG_PREAMBLE_HEADER_BYTES) {
			need = mig_preamble_refusal_bytes(t->pre);
			if (!need)
				return fail(t, FERR_PROTO,
					    "the destination answered neither TLS nor a Ferry refusal");
		}
		if (t->pre_have == need)
			break;
		long n = t->lower->read(t->lower_ctx, t->pre + t->pre_have, need - t->pre_have);
		if (n < 0)
			return fail(t, FERR_IO, "the destination closed the connection in the middle of its refusal");
		if (n == 0)
			return 0;
		t->pre_have += (size_t)n;
	}
	if (!mig_preamble_read_refusal(t->pre, need, &reason, text))
		return fail(t, FERR_PROTO, "the destination's refusal is malformed");
	fmt_snprintf(why, sizeof(why), "destination refused (%s): %s", mig_preamble_reason_name(reason), text);
	return fail(t, reason == MIG_PREAMBLE_REASON_NO_KEY ? FERR_AUTH
		       : reason == MIG_PREAMBLE_REASON_VERSION ? FERR_NOTSUP : FERR_PROTO, why);
}

static void note_peer(struct mig_tls *t)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&t->ssl);

	if (crt)
		mbedtls_x509_dn_gets(t->peer, sizeof(t->peer), &crt->subject);
	else
		fmt_snprintf(t->peer, sizeof(t->peer), "migration_key");
}

static int handshake(struct mig_tls *t)
{
	int ret = mbedtls_ssl_handshake(&t->ssl);

	if (t->state == MIG_TLS_REFUSED)
		return read_refusal(t);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return 0;
	if (ret)
		return fail_mbed(t, ret);
	if (!t->have_inner_key)
		return fail(t, FERR_PROTO, "the TLS session gave no key material");
	note_peer(t);
	t->state = MIG_TLS_OPEN;
	return 0;
}

/* Why the stream went away before the channel was up, by how far it got. */
static const char *lost_words(const struct mig_tls *t, int err)
{
	switch (t->state) {
	case MIG_TLS_CONNECTING:
		return err == FERR_TIMEOUT ? "the destination did not answer the connection"
					   : "no migration listener at the destination";
	case MIG_TLS_PREAMBLE:
		return "the source closed the connection before its version hello";
	case MIG_TLS_HANDSHAKE:
		if (t->role == MIG_ROLE_SOURCE && !t->saw_first_byte)
			return "the destination closed the connection without answering (not a Ferry migration listener?)";
		return "the connection was lost during the TLS handshake";
	default:
		return "the connection was lost";
	}
}

int mig_tls_step(struct mig_tls *t)
{
	int err;

	if (t->state == MIG_TLS_FAILED) {
		drain(t);
		return t->err;
	}
	err = t->lower->error(t->lower_ctx);
	if (err && t->state != MIG_TLS_OPEN && t->state != MIG_TLS_REFUSED && t->lower->readable(t->lower_ctx) == 0)
		return fail(t, err, lost_words(t, err));
	switch (t->state) {
	case MIG_TLS_CONNECTING:
		if (!t->lower->connected(t->lower_ctx))
			break;
		if (t->role == MIG_ROLE_SOURCE) {
			uint8_t hello[MIG_PREAMBLE_HELLO_BYTES];
			mig_preamble_hello(hello);
			out_put(t, hello, sizeof(hello));
			t->state = MIG_TLS_HANDSHAKE;
		} else {
			t->state = MIG_TLS_PREAMBLE;
		}
		return mig_tls_step(t);
	case MIG_TLS_PREAMBLE:
		if (read_hello(t))
			return t->err;
		if (t->state == MIG_TLS_HANDSHAKE)
			return mig_tls_step(t);
		break;
	case MIG_TLS_REFUSED:
		return read_refusal(t);
	case MIG_TLS_HANDSHAKE:
		if (handshake(t))
			return t->err;
		break;
	case MIG_TLS_OPEN:
	case MIG_TLS_FAILED:
		break;
	}
	err = drain(t);
	if (err && t->state != MIG_TLS_FAILED)
		return fail(t, err, "the connection was lost");
	return t->state == MIG_TLS_FAILED ? t->err : 0;
}

/* ---- plaintext ----------------------------------------------------------------------------------- */

long mig_tls_write(struct mig_tls *t, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (t->state == MIG_TLS_FAILED)
		return t->err;
	if (t->state != MIG_TLS_OPEN)
		return mig_tls_step(t);
	while (done < len && out_room(t) >= RECORD_WIRE_MAX) {
		size_t n = len - done < RECORD_PAYLOAD_MAX ? len - done : RECORD_PAYLOAD_MAX;
		int ret = mbedtls_ssl_write(&t->ssl, p + done, n);
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
			break;
		if (ret < 0)
			return fail_mbed(t, ret);
		done += (size_t)ret;
		/* Each record goes to the stream as soon as it is made, not after the next one. */
		if (drain(t))
			break;
	}
	int err = drain(t);
	if (err)
		return done ? (long)done : fail(t, err, "the connection was lost");
	return (long)done;
}

size_t mig_tls_writable(const struct mig_tls *t)
{
	if (t->state != MIG_TLS_OPEN)
		return 0;
	return out_room(t) / RECORD_WIRE_MAX * RECORD_PAYLOAD_MAX;
}

long mig_tls_read(struct mig_tls *t, void *buf, size_t len)
{
	if (t->state == MIG_TLS_FAILED)
		return t->err;
	if (t->state != MIG_TLS_OPEN) {
		int err = mig_tls_step(t);
		if (err || t->state != MIG_TLS_OPEN)
			return err;
	}
	int ret = mbedtls_ssl_read(&t->ssl, buf, len);
	if (ret > 0)
		return ret;
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return drain(t) ? fail(t, FERR_IO, "the connection was lost") : 0;
	if (ret == 0)
		ret = MBEDTLS_ERR_SSL_CONN_EOF;
	return fail_mbed(t, ret);
}

size_t mig_tls_readable(const struct mig_tls *t)
{
	if (t->state != MIG_TLS_OPEN)
		return t->lower->readable(t->lower_ctx);
	return mbedtls_ssl_get_bytes_avail(&t->ssl) + (size_t)mbedtls_ssl_check_pending(&t->ssl) +
	       t->lower->readable(t->lower_ctx);
}

size_t mig_tls_unsent(const struct mig_tls *t)
{
	return t->out_end - t->out_start;
}

enum mig_tls_state mig_tls_state(const struct mig_tls *t)
{
	return t->state;
}

bool mig_tls_open(const struct mig_tls *t)
{
	return t->state == MIG_TLS_OPEN;
}

int mig_tls_error(const struct mig_tls *t)
{
	return t->state == MIG_TLS_FAILED ? t->err : 0;
}

const char *mig_tls_why(const struct mig_tls *t)
{
	return t->state == MIG_TLS_FAILED ? t->why : NULL;
}

const uint8_t *mig_tls_inner_key(const struct mig_tls *t)
{
	return t->inner_key;
}

const char *mig_tls_suite(const struct mig_tls *t)
{
	return t->state == MIG_TLS_OPEN ? mbedtls_ssl_get_ciphersuite(&t->ssl) : "";
}

const char *mig_tls_peer(const struct mig_tls *t)
{
	return t->peer;
}
