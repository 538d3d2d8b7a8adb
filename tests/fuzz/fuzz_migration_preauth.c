/*
 * libFuzzer target: what anyone who can open a connection reaches, before proving
 * the key. The fuzzer plays a peer that does not hold the key the other side uses
 * (FUZZ_SECRET_KEY: no seed knows it). The input's first byte picks the case, the
 * second a chunk size; the rest is the peer's bytes:
 *   bit 0: the side under test is a destination (0) or a source (1);
 *   bit 1: that side has a key (1) or none (0; a destination still listens);
 *   bit 2: the protocol machine alone (0), or the whole engine over the fake
 *          transport, guests and host of tests/unit/migration_fakes.h (1).
 * Findings: a crash or sanitizer report; a feed that takes no bytes, gives no event
 * and does not fail (the 17-byte stall); any sign of a proved key (an AUTHENTICATED
 * event, a state past the AUTH wait); and for the engine: working memory or a guest
 * shell given before AUTH, a source guest not running as it was once the engine
 * ends, or an engine still open one handshake deadline after the last byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "migration_fuzz.h"
#include "kernel/migration/proto.h"
#include "tests/unit/migration_fakes.h"

#define CASE_SOURCE 0x1
#define CASE_KEYED 0x2
#define CASE_ENGINE 0x4
#define HEAD_BYTES 2
#define STEP_NS 100000000ull               /* an engine step: 100 ms of the fake clock */
#define QUIET_STEPS 120                    /* 12 s after the last byte: past the deadline */

static struct mig_src src;
static struct mig_dst dst;

static bool always(void *ctx, uint64_t mib) { (void)ctx; (void)mib; return true; }
static bool name_free(void *ctx, const char *name) { (void)ctx; (void)name; return true; }

static const uint8_t *key_of(unsigned c, size_t *len)
{
	*len = c & CASE_KEYED ? strlen(FUZZ_SECRET_KEY) : 0;
	return c & CASE_KEYED ? (const uint8_t *)FUZZ_SECRET_KEY : NULL;
}

/* ---- the machines alone ---------------------------------------------------------------- */

static void machine_dst(unsigned c, const uint8_t *data, size_t size, size_t chunk)
{
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	size_t key_len, at = 0;
	const uint8_t *key = key_of(c, &key_len);

	mig_dst_init(&dst, key, key_len, fuzz_nonce_dst, &checks);
	while (at < size) {
		struct mig_dst_event ev;
		size_t used, n = size - at < chunk ? size - at : chunk;
		int rc = mig_dst_input(&dst, data + at, n, &used, &ev);
		FUZZ_CHECK(used <= n);
		FUZZ_CHECK_PROGRESS(rc, used, n);
		FUZZ_CHECK(rc != 1 || ev.kind == MIG_DST_EV_ABORTED);
		FUZZ_CHECK(dst.state == MIG_DST_WAIT_HELLO || dst.state == MIG_DST_WAIT_AUTH ||
			   dst.state == MIG_DST_CLOSED);
		at += used;
		if (rc < 0 || dst.state == MIG_DST_CLOSED)
			break;
	}
	mig_dst_fini(&dst);
}

static void machine_src(unsigned c, const uint8_t *data, size_t size, size_t chunk)
{
	size_t key_len, at = 0;
	const uint8_t *key = key_of(c, &key_len);

	mig_src_init(&src, key, key_len, fuzz_nonce_src);
	while (at < size) {
		struct mig_src_event ev;
		size_t used, n = size - at < chunk ? size - at : chunk;
		int rc = mig_src_input(&src, data + at, n, &used, &ev);
		FUZZ_CHECK(used <= n);
		if (src.state != MIG_SRC_CLOSED)
			FUZZ_CHECK_PROGRESS(rc, used, n);
		FUZZ_CHECK(rc != 1 || ev.kind == MIG_SRC_EV_ABORTED);
		FUZZ_CHECK(src.state == MIG_SRC_WAIT_HELLO || src.state == MIG_SRC_WAIT_AUTH ||
			   src.state == MIG_SRC_CLOSED);
		at += used;
		if (rc < 0 || src.state == MIG_SRC_CLOSED)
			break;
	}
	mig_src_fini(&src);
}

/* ---- the whole engine -------------------------------------------------------------------- */

static struct mig_engine *engine;
static struct fake_host host;
static struct fake_link link;
static struct tcp_stream near_end, far_end;   /* the engine's end, the fuzzer's */

/* The link as new, its pipes kept (allocated once: each input starts a connection). */
static void link_reset(void)
{
	uint8_t *to_dst = link.to_dst.buf, *to_src = link.to_src.buf;

	memset(&link, 0, sizeof(link));
	link.to_dst.buf = to_dst;
	link.to_src.buf = to_src;
	link.bytes_per_step = 1 << 20;
	link.connected = true;
	near_end = (struct tcp_stream){ &link, &link.to_dst, &link.to_src, 0, false };
	far_end = (struct tcp_stream){ &link, &link.to_src, &link.to_dst, 0, false };
}

/* The fuzzer's bytes as far as the pipe takes them now; how many. */
static size_t push(const uint8_t *data, size_t n)
{
	size_t room = FAKE_PIPE_BYTES - far_end.out->len, k = n < room ? n : room;

	for (size_t i = 0; i < k; i++)
		far_end.out->buf[(far_end.out->head + far_end.out->len + i) % FAKE_PIPE_BYTES] = data[i];
	far_end.out->len += k;
	return k;
}

/* Reads (and drops) what the engine sent, as a peer that listens would. */
static void drain(void)
{
	uint8_t sink[4096];

	while (ft_read(&far_end, sink, sizeof(sink)) > 0)
		;
}

/*
 * Working memory for the engine, made once (a fresh allocation per input would cost
 * more than the input); counted in host.buffers_given as the fakes count theirs.
 */
static void *reused_buffers(void *ctx, size_t bytes)
{
	static void *mem;
	static size_t size;
	struct fake_host *h = ctx;

	if (!mem) {
		size = mig_engine_buffers_size(MIG_ROLE_SOURCE) > mig_engine_buffers_size(MIG_ROLE_DEST)
			? mig_engine_buffers_size(MIG_ROLE_SOURCE) : mig_engine_buffers_size(MIG_ROLE_DEST);
		mem = malloc(size);
	}
	FUZZ_CHECK(bytes <= size);
	h->buffers_given++;
	return memset(mem, 0, bytes);
}

/* The source's guest, made once: running, as a guest is when migrate starts. */
static struct vm *fresh_guest(void)
{
	static struct vm *g;

	if (!g) {
		g = fake_guest_new("victim", 1);   /* small: the handshake never reads RAM */
		fake_guest_fill(g);
	}
	g->running = true;
	g->paused = g->migrating = g->logging = g->destroyed = false;
	g->throttle = 0;
	return g;
}

static void run_engine(unsigned c, const uint8_t *data, size_t size, size_t chunk)
{
	size_t key_len, at = 0;
	const uint8_t *key = key_of(c, &key_len);
	struct mig_env env;
	struct vm *guest = NULL;
	int quiet = 0;

	if (!engine) {
		engine = calloc(1, mig_engine_size());
		fake_link_init(&link, 1 << 20, &near_end, &far_end);
	}
	link_reset();
	memset(&host, 0, sizeof(host));
	host.free_mib = 1024;
	env = fake_env(&host, (const char *)key);
	env.key_len = key_len;
	env.buffers = reused_buffers;
	if (c & CASE_SOURCE) {
		guest = fresh_guest();
		if (mig_source_start(engine, &env, NULL, guest, &near_end)) {
			FUZZ_CHECK(!(c & CASE_KEYED) && guest->running && !guest->migrating);
			goto out;
		}
	} else {
		mig_dest_start(engine, &env, &near_end);
	}
	while (!mig_engine_finished(engine)) {
		fake_clock_ns += STEP_NS;
		fake_link_tick(&link, &near_end, &far_end);
		if (at < size) {
			size_t n = size - at < chunk ? size - at : chunk;
			at += push(data + at, n);
		} else if (quiet++ > QUIET_STEPS) {
			FUZZ_CHECK(0);   /* the handshake deadline did not end it */
		}
		mig_engine_step(engine);
		drain();
		FUZZ_CHECK(!mig_engine_authenticated(engine));
		FUZZ_CHECK(host.buffers_given <= ((c & CASE_SOURCE) ? 1u : 0u));
		FUZZ_CHECK(host.created == NULL);
	}
	if (guest)
		FUZZ_CHECK(guest->running && !guest->paused && !guest->migrating && !guest->logging);
out:
	host.buffers_given = 0;
}

/* ---- seeds and the entry point ---------------------------------------------------------- */

static size_t hello(uint8_t *out, enum mig_role role)
{
	struct mig_hello h = { .magic = MIG_HELLO_MAGIC, .version = MIG_PROTO_VERSION, .role = role };
	struct mig_header head = { .type = MIG_HELLO, .length = MIG_HELLO_BYTES };

	memcpy(h.nonce, role == MIG_ROLE_SOURCE ? fuzz_nonce_src : fuzz_nonce_dst, MIG_NONCE_BYTES);
	mig_header_encode(out, &head);
	return MIG_HEADER_BYTES + mig_encode_hello(out + MIG_HEADER_BYTES, &h);
}

static void write_seeds(void)
{
	static uint8_t seed[HEAD_BYTES + 4 * MIG_SMALL_FRAME_MAX];
	char name[48];

	for (unsigned c = 0; c < 8; c++) {
		enum mig_role peer = c & CASE_SOURCE ? MIG_ROLE_DEST : MIG_ROLE_SOURCE;
		size_t len = HEAD_BYTES;
		seed[0] = (uint8_t)c;
		seed[1] = 0xff;
		/* A valid HELLO, then an AUTH that proves nothing. */
		len += hello(seed + len, peer);
		struct mig_header auth = { .type = MIG_AUTH, .length = MIG_AUTH_BYTES, .sequence = 1 };
		mig_header_encode(seed + len, &auth);
		len += MIG_HEADER_BYTES;
		memset(seed + len, 0x5a, MIG_AUTH_BYTES);
		len += MIG_AUTH_BYTES;
		snprintf(name, sizeof(name), "case%u-hello-auth", c);
		fuzz_write_seed(name, seed, len);
		/* The 17 bytes of issue 12 item 1, for every type with an empty payload. */
		for (unsigned type = 1; type < MIG_TYPE_COUNT; type++) {
			if (mig_payload_min(type) != 0)
				continue;
			struct mig_header h = { .type = (uint8_t)type };
			mig_header_encode(seed + HEAD_BYTES, &h);
			seed[HEAD_BYTES + MIG_HEADER_BYTES] = 0x01;
			snprintf(name, sizeof(name), "case%u-empty-%s", c, mig_type_name(type));
			fuzz_write_seed(name, seed, HEAD_BYTES + MIG_HEADER_BYTES + 1);
		}
	}
}

static void fuzz_initialize(void)
{
	write_seeds();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned c;
	size_t chunk;

	if (size < HEAD_BYTES)
		return 0;
	c = data[0];
	chunk = 1 + (size_t)data[1];
	data += HEAD_BYTES;
	size -= HEAD_BYTES;
	if (c & CASE_ENGINE)
		run_engine(c, data, size, chunk);
	else if (c & CASE_SOURCE)
		machine_src(c, data, size, chunk);
	else
		machine_dst(c, data, size, chunk);
	return 0;
}
