/*
 * libFuzzer target: the migration channel (kernel/migration/tls.c, preamble.c) as a
 * stranger without the key reaches it. The first input byte picks the side: even, a
 * destination channel fed the rest as what a source sent (the version hello, then TLS
 * records); odd, a source channel fed the rest as a destination's answer (TLS records,
 * or a v1 refusal frame); with bit 1 set too, a destination first gets a valid version
 * hello, so that the fuzzer reaches the TLS handshake at once. The second byte sets how
 * many bytes each read may take, so every split of the input is reached. Findings: a crash or sanitizer report; a channel
 * that opens (no input can complete a handshake without the key); a failed channel
 * without words; a channel still waiting after the input is used up and closed. Seeds
 * (fuzz_initialize): a real source's hello and ClientHello, a real destination's
 * ServerHello flight, a v1 refusal frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migration_fuzz.h"

#include "kernel/lib/errors.h"
#include "kernel/migration/preamble.h"
#include "kernel/migration/tls.h"
#include "tests/unit/tls_pipe.h"

#define KEY "fuzz key 0123456789abcdef"
#define STEPS_MAX 64

static struct mig_tls_config cfg;
static struct pipe pipe;

static void config_once(void)
{
	static int ready;
	struct mig_tls_settings s = { .psk = (const uint8_t *)KEY, .psk_len = sizeof(KEY) - 1,
				      .cipher = CONFIG_CIPHER_CHACHA20_POLY1305, .random = pipe_fixed_random };
	char why[MIG_TLS_WHY_MAX];

	if (ready)
		return;
	if (mig_tls_config_init(&cfg, &s, why, sizeof(why))) {
		fprintf(stderr, "config: %s\n", why);
		abort();
	}
	ready = 1;
}

/* A seed: the side byte, a read split, then `len` bytes. */
static void write_seed(const char *name, uint8_t side, const uint8_t *data, size_t len)
{
	static uint8_t seed[PIPE_QUEUE_BYTES];

	seed[0] = side;
	seed[1] = 31;
	memcpy(seed + 2, data, len);
	fuzz_write_seed(name, seed, len + 2);
}

static void fuzz_initialize(void)
{
	static struct pipe p;
	uint8_t frame[MIG_PREAMBLE_ABORT_MAX];
	int err;

	if (!getenv("FERRY_FUZZ_SEEDS"))
		return;
	config_once();
	pipe_init(&p);
	struct mig_tls *src = mig_tls_new(&cfg, MIG_ROLE_SOURCE, &pipe_lower, &p.a, &err);
	struct mig_tls *dst = mig_tls_new(&cfg, MIG_ROLE_DEST, &pipe_lower, &p.b, &err);
	mig_tls_step(src);
	/* What a source sends first: its version hello and ClientHello (for a destination). */
	write_seed("dest-hello-clienthello", 0, p.ab.buf + p.ab.start, pipe_queued(&p.ab));
	size_t before = p.ba.end;
	mig_tls_step(dst);
	/* The destination's first flight: ServerHello ... ServerHelloDone (for a source). */
	write_seed("source-serverhello", 1, p.ba.buf + before, p.ba.end - before);
	size_t n = mig_preamble_abort(frame, MIG_PREAMBLE_REASON_VERSION, "destination speaks protocol v1 only");
	write_seed("source-refusal", 1, frame, n);
	mig_tls_free(src, false);
	mig_tls_free(dst, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int err;

	if (size < 2)
		return 0;
	config_once();
	enum mig_role role = data[0] & 1 ? MIG_ROLE_SOURCE : MIG_ROLE_DEST;
	pipe_init(&pipe);
	/* End a is the channel's; the fuzzer writes into what it reads (ba). */
	pipe.a.max_io = 1 + data[1] % 64;
	data += 2;
	size -= 2;
	struct mig_tls *t = mig_tls_new(&cfg, role, &pipe_lower, &pipe.a, &err);
	if (!t)
		abort();
	if (role == MIG_ROLE_DEST && data[-2] & 2) {
		uint8_t hello[MIG_PREAMBLE_HELLO_BYTES];
		mig_preamble_hello(hello);
		pipe_write(&pipe.b, hello, sizeof(hello));
	}
	size_t fed = 0;
	for (int i = 0; fed < size || i < STEPS_MAX; i++) {
		if (fed < size) {
			size_t n = size - fed < 97 ? size - fed : 97;
			long w = pipe_write(&pipe.b, data + fed, n);
			if (w > 0)
				fed += (size_t)w;
		} else if (!pipe.ba.closed) {
			pipe.ba.closed = true;       /* the stranger is done: its close */
		}
		mig_tls_step(t);
		if (mig_tls_open(t)) {
			fprintf(stderr, "a channel opened without the key\n");
			abort();
		}
		if (mig_tls_state(t) == MIG_TLS_FAILED)
			break;
		/* Keep the channel's output from filling the pipe: the stranger reads nothing. */
		pipe.ab.start = pipe.ab.end = 0;
		if (i > (int)size + 4 * STEPS_MAX) {
			fprintf(stderr, "the channel neither fails nor finishes on a closed stream\n");
			abort();
		}
	}
	if (mig_tls_state(t) != MIG_TLS_FAILED && pipe.ba.closed && pipe_queued(&pipe.ba) == 0) {
		/* All input read and the stream closed: the channel must have given up. */
		fprintf(stderr, "still in state %d after the stranger closed\n", (int)mig_tls_state(t));
		abort();
	}
	if (mig_tls_state(t) == MIG_TLS_FAILED && (!mig_tls_why(t) || !mig_tls_why(t)[0] || !mig_tls_error(t))) {
		fprintf(stderr, "a failure without words\n");
		abort();
	}
	mig_tls_free(t, false);
	return 0;
}
