/*
 * Host tests of the migration channel (kernel/migration/tls.c, tls_config.c,
 * preamble.c) over an in-memory pipe (tls_pipe.h): ECDHE-PSK and certificate
 * handshakes and what each end then agrees on (suite, peer, inner key), plaintext
 * both ways in any split, every refusal with its words (wrong key, no key, no
 * cipher in common, a certificate from another CA, older protocol versions both
 * ways, a stranger's bytes), a tampered record, the peer's close, configs that do
 * not load, and the heap a channel needs at its peak. The certificates are made by
 * tests/tools/make_test_certs.sh next to this binary (build/host/tls/).
 */
#include "check.h"
#include "tls_pipe.h"

#include <stdio.h>
#include <stdlib.h>

#include "kernel/migration/preamble.h"
#include "kernel/migration/tls.h"
#include "mbedtls/platform.h"

#define KEY_A "0123456789abcdef0123456789abcdef"
#define KEY_B "fedcba9876543210fedcba9876543210"
#define STEPS_MAX 2000

static char cert_dir[512];

/* ---- files and configs ---------------------------------------------------------------- */

struct file {
	uint8_t *data;
	size_t len;
};

static struct file load(const char *name)
{
	char path[600];
	struct file f = { 0 };
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", cert_dir, name);
	fp = fopen(path, "rb");
	if (!fp) {
		printf("  cannot open %s\n", path);
		return f;
	}
	fseek(fp, 0, SEEK_END);
	f.len = (size_t)ftell(fp);
	fseek(fp, 0, SEEK_SET);
	f.data = malloc(f.len + 1);
	f.len = fread(f.data, 1, f.len, fp);
	fclose(fp);
	return f;
}

static uint64_t random_counter;

static int test_random(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)ctx;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(random_counter++ * 2654435761u >> 13);
	return 0;
}

static int no_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return FERR_NOTSUP;
}

struct host {
	struct mig_tls_config cfg;
	struct file cert, key, ca;
	char why[MIG_TLS_WHY_MAX];
	int err;
};

/* A host's config: psk may be NULL, name the stem of its certificate files (NULL: none). */
static void host_init(struct host *h, const char *psk, const char *name, const char *ca,
		      enum config_cipher cipher)
{
	struct mig_tls_settings s = { .cipher = cipher, .random = test_random };
	char file[64];

	memset(h, 0, sizeof(*h));
	if (psk) {
		s.psk = (const uint8_t *)psk;
		s.psk_len = strlen(psk);
	}
	if (name) {
		snprintf(file, sizeof(file), "%s.crt", name);
		h->cert = load(file);
		snprintf(file, sizeof(file), "%s.key", name);
		h->key = load(file);
		h->ca = load(ca ? ca : "ca.crt");
		s.cert = h->cert.data, s.cert_len = h->cert.len;
		s.key = h->key.data, s.key_len = h->key.len;
		s.ca = h->ca.data, s.ca_len = h->ca.len;
	}
	h->err = mig_tls_config_init(&h->cfg, &s, h->why, sizeof(h->why));
}

static void host_fini(struct host *h)
{
	mig_tls_config_free(&h->cfg);
	free(h->cert.data);
	free(h->key.data);
	free(h->ca.data);
}

/* ---- a link of two channels ---------------------------------------------------------------- */

struct link {
	struct pipe pipe;
	struct mig_tls *src, *dst;       /* src on end a, dst on end b */
};

static struct link *link_new(struct host *src, struct host *dst)
{
	struct link *l = calloc(1, sizeof(*l));
	int err;

	pipe_init(&l->pipe);
	l->src = mig_tls_new(&src->cfg, MIG_ROLE_SOURCE, &pipe_lower, &l->pipe.a, &err);
	l->dst = mig_tls_new(&dst->cfg, MIG_ROLE_DEST, &pipe_lower, &l->pipe.b, &err);
	return l;
}

static void link_free(struct link *l)
{
	mig_tls_free(l->src, true);
	mig_tls_free(l->dst, true);
	free(l);
}

static bool settled(const struct mig_tls *t)
{
	return mig_tls_open(t) || mig_tls_error(t);
}

/* Steps both ends until both are open or failed; the number of rounds it took. */
static unsigned run_handshake(struct link *l)
{
	unsigned n = 0;

	while (n < STEPS_MAX && !(settled(l->src) && settled(l->dst))) {
		mig_tls_step(l->src);
		mig_tls_step(l->dst);
		n++;
	}
	return n;
}

/* True when needle's bytes appear in hay. */
static bool has_bytes(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

static bool contains(const char *s, const char *part)
{
	return s && strstr(s, part);
}

/* Moves len bytes from one channel to the other in chunks of `chunk`, checking them. */
static bool transfer(struct mig_tls *from, struct mig_tls *to, size_t len, size_t chunk)
{
	uint8_t *data = malloc(len), *got = malloc(len);
	size_t sent = 0, recvd = 0;
	unsigned idle = 0;
	bool ok;

	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 131 + (i >> 9));
	while (recvd < len && idle < 1000) {
		size_t n = len - sent < chunk ? len - sent : chunk;
		long w = n ? mig_tls_write(from, data + sent, n) : 0;
		long r = mig_tls_read(to, got + recvd, len - recvd < chunk ? len - recvd : chunk);
		mig_tls_step(from);
		if (w < 0 || r < 0)
			break;
		sent += (size_t)w;
		recvd += (size_t)r;
		idle = (w || r) ? 0 : idle + 1;
	}
	ok = recvd == len && memcmp(data, got, len) == 0;
	free(data);
	free(got);
	return ok;
}

/* ---- records ---------------------------------------------------------------------------------- */

/*
 * A record goes to the stream as soon as it is encrypted, not after the next one: under
 * an emulator a 16 KiB record takes milliseconds to encrypt, and a paused guest waits.
 */
TEST(each_record_goes_to_the_stream_as_soon_as_it_is_made)
{
	struct host a, b;
	enum { RECORD = 16384 };

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src));
	uint8_t *data = calloc(1, 2 * RECORD);
	size_t queued = pipe_queued(&l->pipe.ab);
	unsigned long writes = l->pipe.a.writes;
	CHECK_EQ_I(mig_tls_write(l->src, data, 2 * RECORD), 2 * RECORD);
	/* Two records, two writes to the stream, and all of both on it. */
	CHECK_EQ_U(l->pipe.a.writes - writes, 2);
	CHECK_EQ_U(mig_tls_unsent(l->src), 0);
	CHECK(pipe_queued(&l->pipe.ab) - queued > 2 * RECORD);
	/* A write of a few hundred bytes is a record of its own: it leaves at once. */
	writes = l->pipe.a.writes;
	CHECK_EQ_I(mig_tls_write(l->src, data, 300), 300);
	CHECK_EQ_U(l->pipe.a.writes - writes, 1);
	/* And the other end reads all of it. */
	size_t got = 0;
	uint8_t *in = malloc(2 * RECORD + 300);
	for (unsigned i = 0; i < 100 && got < 2 * RECORD + 300; i++) {
		long r = mig_tls_read(l->dst, in + got, 2 * RECORD + 300 - got);
		if (r < 0)
			break;
		got += (size_t)r;
	}
	CHECK_EQ_U(got, 2 * RECORD + 300);
	CHECK(memcmp(in, data, 2 * RECORD) == 0);
	free(in);
	free(data);
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

/* ---- handshakes that succeed --------------------------------------------------------------- */

TEST(psk_handshake_opens_and_carries_data_both_ways)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_I(a.err, 0);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src));
	CHECK(mig_tls_open(l->dst));
	CHECK_STR(mig_tls_suite(l->src), "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256");
	CHECK_STR(mig_tls_suite(l->dst), "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256");
	CHECK_STR(mig_tls_peer(l->src), "migration_key");
	/* Both ends derive the same inner key, and it is not all zeros. */
	CHECK(memcmp(mig_tls_inner_key(l->src), mig_tls_inner_key(l->dst), MIG_TLS_INNER_KEY_BYTES) == 0);
	uint8_t zero[MIG_TLS_INNER_KEY_BYTES] = { 0 };
	CHECK(memcmp(mig_tls_inner_key(l->src), zero, sizeof(zero)) != 0);
	CHECK(transfer(l->src, l->dst, 1 << 20, 40000));
	CHECK(transfer(l->dst, l->src, 100000, 7));
	CHECK(transfer(l->src, l->dst, 5000, 1));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(every_session_has_its_own_inner_key)
{
	struct host a, b;
	uint8_t first[MIG_TLS_INNER_KEY_BYTES];

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	memcpy(first, mig_tls_inner_key(l->src), sizeof(first));
	link_free(l);
	l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src));
	CHECK(memcmp(first, mig_tls_inner_key(l->src), sizeof(first)) != 0);
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(a_byte_at_a_time_still_handshakes)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	l->pipe.a.max_io = 1;
	l->pipe.b.max_io = 1;
	unsigned rounds = 0;
	while (rounds < 100000 && !(settled(l->src) && settled(l->dst))) {
		mig_tls_step(l->src);
		mig_tls_step(l->dst);
		rounds++;
	}
	CHECK(mig_tls_open(l->src));
	CHECK(mig_tls_open(l->dst));
	CHECK(transfer(l->src, l->dst, 3000, 1000));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(certificates_authenticate_both_ends)
{
	struct host a, b;

	host_init(&a, NULL, "a", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, NULL, "b", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_I(a.err, 0);
	CHECK_EQ_I(b.err, 0);
	CHECK(a.cfg.have_certs && !a.cfg.have_psk);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src));
	CHECK(mig_tls_open(l->dst));
	CHECK_STR(mig_tls_suite(l->src), "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
	CHECK_STR(mig_tls_peer(l->src), "CN=ferry-b");
	CHECK_STR(mig_tls_peer(l->dst), "CN=ferry-a");
	CHECK(memcmp(mig_tls_inner_key(l->src), mig_tls_inner_key(l->dst), MIG_TLS_INNER_KEY_BYTES) == 0);
	CHECK(transfer(l->dst, l->src, 200000, 16384));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(an_rsa_host_and_der_files_work_too)
{
	struct host r, a;
	struct file cert = load("a.der"), key = load("a.key.der"), ca = load("ca.crt");
	struct mig_tls_settings s = {
		.cert = cert.data, .cert_len = cert.len, .key = key.data, .key_len = key.len,
		.ca = ca.data, .ca_len = ca.len, .random = test_random,
	};

	host_init(&r, NULL, "rsa", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	memset(&a, 0, sizeof(a));
	a.err = mig_tls_config_init(&a.cfg, &s, a.why, sizeof(a.why));
	CHECK_EQ_I(a.err, 0);
	CHECK_STR(a.why, "");
	struct link *l = link_new(&r, &a);
	run_handshake(l);
	CHECK(mig_tls_open(l->src));
	CHECK_STR(mig_tls_suite(l->src), "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
	link_free(l);
	l = link_new(&a, &r);
	run_handshake(l);
	CHECK(mig_tls_open(l->dst));
	CHECK_STR(mig_tls_suite(l->src), "TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256");
	CHECK_STR(mig_tls_peer(l->src), "CN=ferry-rsa");
	link_free(l);
	host_fini(&r);
	mig_tls_config_free(&a.cfg);
	free(cert.data);
	free(key.data);
	free(ca.data);
}

TEST(a_host_with_key_only_meets_one_with_certificates_and_the_key_on_the_psk)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, "b", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src) && mig_tls_open(l->dst));
	CHECK_STR(mig_tls_suite(l->dst), "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256");
	link_free(l);
	/* Both with certificates and the key: the certificates win. */
	struct host c;
	host_init(&c, KEY_A, "a", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	l = link_new(&c, &b);
	run_handshake(l);
	CHECK_STR(mig_tls_suite(l->dst), "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
	link_free(l);
	host_fini(&a);
	host_fini(&b);
	host_fini(&c);
}

TEST(cipher_none_authenticates_without_encrypting)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_NONE);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_NONE);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK(mig_tls_open(l->src) && mig_tls_open(l->dst));
	CHECK_STR(mig_tls_suite(l->src), "TLS-ECDHE-PSK-WITH-NULL-SHA");
	/* The plaintext is on the wire... */
	const char secret[] = "guest memory in the clear";
	CHECK_EQ_I(mig_tls_write(l->src, secret, sizeof(secret)), sizeof(secret));
	struct pipe_queue *q = &l->pipe.ab;
	CHECK(has_bytes(q->buf + q->start, pipe_queued(q), secret, sizeof(secret)));
	/* ...and still authenticated: one flipped bit and the record is refused. */
	q->buf[q->start + 8] ^= 1;
	char got[64];
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->dst), "failed its authentication"));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

/* ---- refusals ---------------------------------------------------------------------------------- */

TEST(a_wrong_key_fails_on_both_ends_with_its_name)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_B, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_AUTH);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->dst), "wrong migration key"));
	CHECK(contains(mig_tls_why(l->src), "wrong migration key"));
	/* Nothing was ever readable as plaintext. */
	char buf[16];
	CHECK(mig_tls_read(l->dst, buf, sizeof(buf)) < 0);
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(a_destination_without_credentials_refuses_in_clear)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, NULL, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	CHECK(!mig_tls_config_can_migrate(&b.cfg));
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_AUTH);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_AUTH);
	CHECK_STR(mig_tls_why(l->src), "destination refused (no-key): destination has no migration_key configured");
	CHECK(contains(mig_tls_why(l->dst), "no migration_key"));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(no_cipher_or_credentials_in_common)
{
	struct host psk, certs, none;

	host_init(&psk, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&certs, NULL, "b", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&none, KEY_A, NULL, NULL, CONFIG_CIPHER_NONE);
	struct link *l = link_new(&psk, &certs);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_NOTSUP);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_NOTSUP);
	CHECK(contains(mig_tls_why(l->src), "no TLS cipher suite or credentials in common"));
	CHECK(contains(mig_tls_why(l->dst), "no TLS cipher suite or credentials in common"));
	link_free(l);
	l = link_new(&none, &psk);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_NOTSUP);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_NOTSUP);
	link_free(l);
	host_fini(&psk);
	host_fini(&certs);
	host_fini(&none);
}

TEST(a_certificate_from_another_ca_is_refused)
{
	struct host rogue, b;

	host_init(&rogue, NULL, "rogue", "rogue-ca.crt", CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, NULL, "b", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	CHECK_EQ_I(rogue.err, 0);
	struct link *l = link_new(&rogue, &b);
	run_handshake(l);
	/* The source checks the destination's certificate first: not signed by its CA. */
	CHECK_EQ_I(mig_tls_error(l->src), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->src), "not signed by migration_ca"));
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->dst), "refused our certificate"));
	link_free(l);
	l = link_new(&b, &rogue);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->src), "not signed by migration_ca"));
	link_free(l);
	host_fini(&rogue);
	host_fini(&b);
}

/* Writes raw bytes into a pipe queue (a peer that is not a channel). */
static void inject(struct pipe_queue *q, const void *data, size_t len)
{
	memcpy(q->buf + q->end, data, len);
	q->end += len;
}

TEST(a_v1_source_is_refused_in_its_own_framing)
{
	struct host b;
	uint8_t hello[MIG_PREAMBLE_HELLO_BYTES];

	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&b, &b);
	mig_preamble_hello(hello);
	hello[MIG_PREAMBLE_HEADER_BYTES + 4] = 1;     /* version 1 */
	inject(&l->pipe.ab, hello, sizeof(hello));
	mig_tls_step(l->dst);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_NOTSUP);
	CHECK(contains(mig_tls_why(l->dst), "the source speaks protocol v1"));
	/* The answer is a v1 ABORT, untagged: reason version, with words a v1 source prints. */
	struct pipe_queue *q = &l->pipe.ba;
	unsigned reason;
	char text[MIG_PREAMBLE_TEXT_MAX + 1];
	CHECK_EQ_U(q->buf[q->start], 13);
	CHECK(mig_preamble_read_refusal(q->buf + q->start, pipe_queued(q), &reason, text));
	CHECK_EQ_U(reason, MIG_PREAMBLE_REASON_VERSION);
	CHECK_STR(text, "destination speaks protocol v4 (TLS) only: upgrade the source");
	link_free(l);

	/* A v3 source, whose messages inside TLS would carry tags this host refuses: the same. */
	l = link_new(&b, &b);
	mig_preamble_hello(hello);
	hello[MIG_PREAMBLE_HEADER_BYTES + 4] = 3;
	inject(&l->pipe.ab, hello, sizeof(hello));
	mig_tls_step(l->dst);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_NOTSUP);
	CHECK(contains(mig_tls_why(l->dst), "the source speaks protocol v3; this host speaks v4"));
	link_free(l);
	host_fini(&b);
}

TEST(a_v1_destination_s_refusal_is_read_and_named)
{
	struct host a;
	uint8_t frame[MIG_PREAMBLE_ABORT_MAX];

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &a);
	mig_tls_step(l->src);
	/* What the source sent first: the hello, its version, then the ClientHello. */
	struct pipe_queue *q = &l->pipe.ab;
	CHECK_EQ_U(q->buf[q->start], 1);
	CHECK_EQ_U(q->buf[q->start + MIG_PREAMBLE_HEADER_BYTES + 4], MIG_PREAMBLE_VERSION);
	CHECK_EQ_U(q->buf[q->start + MIG_PREAMBLE_HELLO_BYTES], MIG_PREAMBLE_TLS_HANDSHAKE);
	/* A v1 destination answers so (wire.h v1: ABORT, reason version). */
	size_t n = mig_preamble_abort(frame, MIG_PREAMBLE_REASON_VERSION, "destination speaks protocol v1 only");
	inject(&l->pipe.ba, frame, 7);
	mig_tls_step(l->src);
	CHECK_EQ_I(mig_tls_error(l->src), 0);
	inject(&l->pipe.ba, frame + 7, n - 7);
	mig_tls_step(l->src);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_NOTSUP);
	CHECK_STR(mig_tls_why(l->src), "destination refused (version): destination speaks protocol v1 only");
	link_free(l);
	host_fini(&a);
}

TEST(strangers_are_refused_at_once)
{
	struct host b, a;
	const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	/* A destination refuses after the 16 bytes of a header that is no HELLO. */
	struct link *l = link_new(&a, &b);
	inject(&l->pipe.ab, junk, MIG_PREAMBLE_HEADER_BYTES);
	mig_tls_step(l->dst);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_PROTO);
	CHECK(contains(mig_tls_why(l->dst), "not a Ferry migration source"));
	link_free(l);
	/* A TLS client that skips the hello. */
	l = link_new(&a, &b);
	inject(&l->pipe.ab, "\x16\x03\x01\x00\x10" "0123456789a", 16);
	mig_tls_step(l->dst);
	CHECK(contains(mig_tls_why(l->dst), "without Ferry's version hello"));
	link_free(l);
	/* A source whose destination answers something else. */
	l = link_new(&a, &b);
	mig_tls_step(l->src);
	inject(&l->pipe.ba, junk, sizeof(junk) - 1);
	for (int i = 0; i < 3; i++)
		mig_tls_step(l->src);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_PROTO);
	CHECK(contains(mig_tls_why(l->src), "neither TLS nor a Ferry refusal"));
	link_free(l);
	/* A destination that closes without a word. */
	l = link_new(&a, &b);
	mig_tls_step(l->src);
	l->pipe.ba.closed = true;
	mig_tls_step(l->src);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_IO);
	CHECK(contains(mig_tls_why(l->src), "closed the connection without answering"));
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

/* ---- after the handshake ------------------------------------------------------------------------- */

TEST(a_tampered_record_fails_the_reader)
{
	struct host a, b;
	char got[256];

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_write(l->src, "hello, destination", 18), 18);
	struct pipe_queue *q = &l->pipe.ab;
	CHECK(!has_bytes(q->buf + q->start, pipe_queued(q), "hello", 5));   /* encrypted */
	q->buf[q->end - 3] ^= 0x40;
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), FERR_AUTH);
	CHECK(contains(mig_tls_why(l->dst), "failed its authentication"));
	/* Sticky. */
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), FERR_AUTH);
	CHECK_EQ_I(mig_tls_write(l->dst, "x", 1), FERR_AUTH);
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(a_closed_channel_reads_as_closed_after_its_data)
{
	struct host a, b;
	char got[64];

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	CHECK_EQ_I(mig_tls_write(l->src, "last words", 10), 10);
	mig_tls_free(l->src, true);          /* close_notify after the data */
	l->src = NULL;
	l->pipe.ab.closed = true;
	CHECK(mig_tls_readable(l->dst) > 0);
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), 10);
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), FERR_IO);
	CHECK_STR(mig_tls_why(l->dst), "the peer closed the connection");
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(a_link_lost_after_the_handshake_is_not_called_a_close)
{
	struct host a, b;
	char got[64];

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	run_handshake(l);
	/* A reset or a keepalive timeout: the stream ends, but not by the peer's close. */
	l->pipe.b.broken = true;
	CHECK_EQ_I(mig_tls_read(l->dst, got, sizeof(got)), FERR_IO);
	CHECK_STR(mig_tls_why(l->dst), "the connection was lost");
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

TEST(a_broken_link_during_the_handshake_is_said)
{
	struct host a, b;

	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	struct link *l = link_new(&a, &b);
	mig_tls_step(l->src);
	mig_tls_step(l->dst);
	l->pipe.a.broken = l->pipe.b.broken = true;
	run_handshake(l);
	CHECK_EQ_I(mig_tls_error(l->src), FERR_IO);
	CHECK_EQ_I(mig_tls_error(l->dst), FERR_IO);
	CHECK(mig_tls_why(l->src) != NULL);
	link_free(l);
	/* Nobody listening: the source never connects. */
	l = link_new(&a, &b);
	l->pipe.a.connected = false;
	l->pipe.a.broken = true;
	mig_tls_step(l->src);
	CHECK_STR(mig_tls_why(l->src), "no migration listener at the destination");
	link_free(l);
	host_fini(&a);
	host_fini(&b);
}

/* ---- configs ---------------------------------------------------------------------------------------- */

TEST(configs_that_do_not_load_say_why_and_keep_the_key)
{
	struct host h;

	/* A key that is not the certificate's. */
	struct file cert = load("a.crt"), key = load("b.key"), ca = load("ca.crt"), other = load("rogue-ca.crt");
	struct mig_tls_settings s = {
		.psk = (const uint8_t *)KEY_A, .psk_len = strlen(KEY_A),
		.cert = cert.data, .cert_len = cert.len, .key = key.data, .key_len = key.len,
		.ca = ca.data, .ca_len = ca.len, .random = test_random,
	};
	memset(&h, 0, sizeof(h));
	CHECK_EQ_I(mig_tls_config_init(&h.cfg, &s, h.why, sizeof(h.why)), FERR_INVAL);
	CHECK(contains(h.why, "does not match migration_cert"));
	CHECK(h.cfg.have_psk && !h.cfg.have_certs && mig_tls_config_can_migrate(&h.cfg));
	mig_tls_config_free(&h.cfg);
	/* A certificate its own CA did not sign. */
	struct file good_key = load("a.key");
	s.key = good_key.data;
	s.key_len = good_key.len;
	s.ca = other.data, s.ca_len = other.len;
	CHECK_EQ_I(mig_tls_config_init(&h.cfg, &s, h.why, sizeof(h.why)), FERR_AUTH);
	CHECK(contains(h.why, "not signed by migration_ca"));
	mig_tls_config_free(&h.cfg);
	/* Not a certificate at all. */
	s.ca = ca.data, s.ca_len = ca.len;
	s.cert = (const uint8_t *)"not a certificate", s.cert_len = 17;
	CHECK_EQ_I(mig_tls_config_init(&h.cfg, &s, h.why, sizeof(h.why)), FERR_INVAL);
	CHECK(contains(h.why, "migration_cert: not a certificate"));
	mig_tls_config_free(&h.cfg);
	/* Two of the three files. */
	s.cert = cert.data, s.cert_len = cert.len, s.ca = NULL, s.ca_len = 0;
	CHECK_EQ_I(mig_tls_config_init(&h.cfg, &s, h.why, sizeof(h.why)), FERR_INVAL);
	CHECK(contains(h.why, "go together"));
	mig_tls_config_free(&h.cfg);
	/* No entropy: nothing can be offered. */
	s.ca = ca.data, s.ca_len = ca.len, s.random = no_random;
	CHECK_EQ_I(mig_tls_config_init(&h.cfg, &s, h.why, sizeof(h.why)), FERR_NOTSUP);
	CHECK(!mig_tls_config_can_migrate(&h.cfg));
	mig_tls_config_free(&h.cfg);
	free(good_key.data);
	free(cert.data);
	free(key.data);
	free(ca.data);
	free(other.data);
}

/* ---- memory ------------------------------------------------------------------------------------------ */

static size_t heap_now, heap_peak;

static void *counting_calloc(size_t n, size_t size)
{
	size_t *p = calloc(1, n * size + 16);

	if (!p)
		return NULL;
	*p = n * size;
	heap_now += *p;
	if (heap_now > heap_peak)
		heap_peak = heap_now;
	return (uint8_t *)p + 16;
}

static void counting_free(void *ptr)
{
	if (!ptr)
		return;
	size_t *p = (size_t *)((uint8_t *)ptr - 16);
	heap_now -= *p;
	free(p);
}

/* Peak heap bytes of one link (both channels) through its handshake and a transfer. */
static size_t link_peak(struct host *src, struct host *dst)
{
	size_t base = heap_now;

	heap_peak = heap_now;
	struct link *l = link_new(src, dst);
	run_handshake(l);
	CHECK(mig_tls_open(l->src) && mig_tls_open(l->dst));
	CHECK(transfer(l->src, l->dst, 100000, 16384));
	link_free(l);
	/* Everything given back but what the config keeps (an RSA key's blinding values). */
	CHECK(heap_now - base < 4096);
	return heap_peak - base;
}

TEST(a_channel_fits_the_image_heap_budget)
{
	struct host a, b, ca, cb;

	mbedtls_platform_set_calloc_free(counting_calloc, counting_free);
	host_init(&a, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&b, KEY_A, NULL, NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&ca, NULL, "a", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	host_init(&cb, NULL, "rsa", NULL, CONFIG_CIPHER_CHACHA20_POLY1305);
	size_t psk = link_peak(&a, &b), certs = link_peak(&ca, &cb);
	size_t settled_heap = heap_now;
	link_peak(&ca, &cb);
	/* A second link leaves nothing behind (the RSA key's blinding values vary a little). */
	CHECK(heap_now - settled_heap < 1024);
	printf("  heap peak of a link (two channels): psk %zu bytes, certificates %zu bytes\n", psk, certs);
	/* mbedtls_platform.h budgets about 75 KiB a channel at its peak; 110 leaves room for growth. */
	CHECK(psk / 2 < 110 * 1024);
	CHECK(certs / 2 < 110 * 1024);
	host_fini(&a);
	host_fini(&b);
	host_fini(&ca);
	host_fini(&cb);
	mbedtls_platform_set_calloc_free(calloc, free);
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	(void)argc;
	snprintf(cert_dir, sizeof(cert_dir), "%.*s/tls", slash ? (int)(slash - argv[0]) : 1,
		 slash ? argv[0] : ".");
	return run_tests();
}
