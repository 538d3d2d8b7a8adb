/*
 * Fakes for host tests of the migration engine (kernel/migration/engine.h): a clock,
 * guests with RAM in a buffer and a writer that dirties pages while they run (this
 * file's struct vm), a destination host, an in-memory transport with a per-step byte
 * budget (the link's bandwidth) and fault injection (this file's struct tcp_stream,
 * one end of a struct fake_link), and a deterministic random source. The ops tables
 * have the engine's typed signatures, so no casts stand between the engine and the
 * fakes. Header-only so that each test binary includes what it uses.
 */
#ifndef FERRY_TESTS_MIGRATION_FAKES_H
#define FERRY_TESTS_MIGRATION_FAKES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/migration/engine.h"

#define FAKE_UNUSED __attribute__((unused))
#define FAKE_STATE_MAGIC 0x54415453u   /* "STAT" */

/* ---- clock ------------------------------------------------------------------------- */

static uint64_t fake_clock_ns = 1000000000ull;

static FAKE_UNUSED uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return fake_clock_ns;
}

/* ---- guests ------------------------------------------------------------------------ */

/* A guest: the engine's struct vm, faked. */
struct vm {
	char name[MIG_NAME_BYTES];
	uint8_t *ram;
	uint64_t bytes, pages;
	bool running, paused, migrating, destroyed, discarded, incoming, logging;
	bool ran;                       /* it has run (resumed) since it was made */
	uint64_t *dirty;                /* pages written since the last collect */
	unsigned throttle, max_throttle;
	uint8_t mac[6];
	struct cpu_features features;
	uint32_t vendor;                /* enum vcpu_vendor it ran on (0 here and in fake_host: a match) */
	uint64_t counter;               /* part of the "vCPU state" */
	uint64_t writes;
	uint32_t rng;
	uint64_t working_set;           /* pages the writer touches: the first N (0: all) */
	/*
	 * The floor of every dirty set, as a kernel's page tables and stack: the first
	 * floor_pages pages, written in every step the vCPU runs (the writer's working set
	 * follows them). Every burst_every steps, burst_pages more at random (a timer's
	 * work): the noise in small sets.
	 */
	uint64_t floor_pages;
	unsigned burst_every, burst_pages;
	bool fail_state_load, fail_resume;
	uint64_t clock_advanced_ns;     /* what the engine moved its clock on by (clock_advance) */
	const char *state_why;   /* fail_state_load's reason (NULL: "bad section") */
};

static FAKE_UNUSED struct vm *fake_guest_new(const char *name, uint64_t mib)
{
	struct vm *g = calloc(1, sizeof(*g));

	snprintf(g->name, sizeof(g->name), "%s", name);
	g->bytes = mib << 20;
	g->pages = g->bytes >> 12;
	g->ram = calloc(1, g->bytes);
	g->dirty = calloc(g->pages / 64 + 1, sizeof(uint64_t));
	g->mac[0] = 0x52; g->mac[1] = 0x54; g->mac[2] = 0x00; g->mac[3] = 0x12;
	g->mac[4] = 0x34; g->mac[5] = 0x56;
	g->features.leaf1_ecx = 0x80000001u;
	g->features.leaf1_edx = 0x0000f00fu;
	g->rng = 12345;
	return g;
}

static FAKE_UNUSED void fake_guest_free(struct vm *g)
{
	if (!g)
		return;
	free(g->ram);
	free(g->dirty);
	free(g);
}

static uint32_t fake_rand(struct vm *g)
{
	g->rng = g->rng * 1103515245u + 12345u;
	return g->rng >> 8;
}

/* Fills half the pages with data, leaving the rest zero (zero-page markers). */
static FAKE_UNUSED void fake_guest_fill(struct vm *g)
{
	for (uint64_t p = 0; p < g->pages; p += 2)
		for (unsigned i = 0; i < 4096; i += 64)
			g->ram[p * 4096 + i] = (uint8_t)(p + i + 1);
	g->running = true;
}

static void fake_guest_write(struct vm *g, uint64_t page)
{
	uint8_t *p = g->ram + page * 4096;

	g->writes++;
	memcpy(p + (fake_rand(g) % 4088), &g->writes, sizeof(g->writes));
	if (g->logging)
		g->dirty[page / 64] |= 1ull << (page % 64);
}

/* The guest's vCPU runs for one step: its floor, and `rate` pages less the throttled share. */
static FAKE_UNUSED void fake_guest_run(struct vm *g, unsigned rate)
{
	if (!g || !g->running)
		return;
	uint64_t span = (g->working_set ? g->working_set : g->pages - g->floor_pages);
	unsigned n = rate * (100 - g->throttle) / 100;
	if (g->burst_every && g->counter % g->burst_every == 0)
		n += g->burst_pages;
	for (uint64_t page = 0; page < g->floor_pages; page++)
		fake_guest_write(g, page);
	for (unsigned i = 0; i < n; i++)
		fake_guest_write(g, g->floor_pages + fake_rand(g) % span);
	g->counter++;
}

static int fg_pause(struct vm *g)
{
	if (!g->running)
		return FERR_BUSY;
	g->running = false;
	g->paused = true;
	return 0;
}

static int fg_resume(struct vm *g)
{
	if (g->destroyed || g->discarded || g->fail_resume)
		return FERR_INVAL;
	g->running = true;
	g->paused = false;
	g->incoming = false;
	g->ran = true;
	return 0;
}

static uint8_t *fg_ram(struct vm *g) { return g->ram; }
static uint64_t fg_ram_bytes(const struct vm *g) { return g->bytes; }
static const char *fg_name(const struct vm *g) { return g->name; }
static const uint8_t *fg_mac(const struct vm *g) { return g->mac; }
static const struct cpu_features *fg_features(const struct vm *g) { return &g->features; }
static const char *fg_dirty_mode(const struct vm *g) { (void)g; return "pml"; }
static uint32_t fg_cpu_vendor(const struct vm *g) { return g->vendor; }

static int fg_dirty_start(struct vm *g)
{
	memset(g->dirty, 0, (g->pages / 64 + 1) * sizeof(uint64_t));
	g->logging = true;
	return 0;
}

static long fg_dirty_collect(struct vm *g, uint64_t *bitmap)
{
	long found = 0;

	for (uint64_t w = 0; w < g->pages / 64 + 1; w++) {
		found += __builtin_popcountll(g->dirty[w] & ~bitmap[w]);
		bitmap[w] |= g->dirty[w];
		g->dirty[w] = 0;
	}
	return found;
}

static void fg_dirty_stop(struct vm *g) { g->logging = false; }

static int fg_set_throttle(struct vm *g, unsigned percent)
{
	g->throttle = percent;
	if (percent > g->max_throttle)
		g->max_throttle = percent;
	return 0;
}

static long fg_state_save(struct vm *g, uint8_t *buf, size_t cap)
{
	size_t len = 1000;
	if (!g->paused || cap < len)
		return FERR_INVAL;
	memset(buf, 0xa5, len);
	memcpy(buf, &(uint32_t){ FAKE_STATE_MAGIC }, 4);
	memcpy(buf + 4, &g->counter, 8);
	memcpy(buf + 12, g->name, sizeof(g->name));
	return (long)len;
}

static long fg_state_size(struct vm *g)
{
	(void)g;
	return 1000;   /* what fg_state_save writes */
}

static int fg_state_load(struct vm *g, const uint8_t *buf, size_t len, const char **why)
{
	uint32_t magic;
	if (!g->incoming || len != 1000) {
		*why = "bad length";
		return FERR_INVAL;
	}
	memcpy(&magic, buf, 4);
	if (magic != FAKE_STATE_MAGIC || g->fail_state_load) {
		*why = g->fail_state_load && g->state_why ? g->state_why : "bad section";
		return FERR_INVAL;
	}
	memcpy(&g->counter, buf + 4, 8);
	g->paused = true;
	return 0;
}

static void fg_set_migrating(struct vm *g, bool m) { g->migrating = m; }
static void fg_clock_advance(struct vm *g, uint64_t ns) { g->clock_advanced_ns += ns; }

static int fg_destroy(struct vm *g)
{
	g->running = g->paused = false;
	g->destroyed = true;
	return 0;
}

/* ---- destination host --------------------------------------------------------------- */

#define FAKE_MAX_BUFFERS 8

struct fake_host {
	uint64_t free_mib;
	const char *existing_name;
	struct cpu_features features;
	uint32_t vendor;
	struct vm *created;
	uint64_t created_id;
	int frames_sent;
	uint8_t last_frame[64];
	bool refuse_create;
	const char *refuse_mac;   /* why the offer's MAC is refused here (guest_ops: vm_mac_check), or NULL */
	int discards;                   /* discard_incoming calls */
	int guests_lost;                /* of which discarded a guest that had run: a lost guest */
	void *buffers[FAKE_MAX_BUFFERS];   /* working memory given to engines */
	unsigned buffers_given, buffers_limit;   /* limit 0: no limit */
	void *test;                     /* the test's own state, for env callbacks it adds */
};

static int fh_create_incoming(void *ctx, const char *name, uint64_t mib, const uint8_t *mac,
			      struct vm **guest, uint64_t *id, const char **why)
{
	struct fake_host *h = ctx;
	if (h->refuse_mac) {
		*why = h->refuse_mac;
		return FERR_INVAL;
	}
	if (h->refuse_create || mib > h->free_mib) {
		*why = "no room";
		return FERR_NOMEM;
	}
	struct vm *g = fake_guest_new(name, mib);
	memcpy(g->mac, mac, 6);
	g->incoming = true;
	h->created = g;
	*guest = g;
	*id = h->created_id = 1000 + (uint64_t)h->discards;
	return 0;
}

/*
 * As vm_destroy: destroys whatever guest it is given, running or not, without the
 * image's identity and never-ran checks; so a test sees the engine ask for a wrong
 * discard as a lost guest.
 */
static int fh_discard_incoming(void *ctx, const char *name, uint64_t id)
{
	struct fake_host *h = ctx;
	struct vm *g = h->created;

	(void)id;
	h->discards++;
	if (!g || strcmp(g->name, name) != 0)
		return FERR_NOENT;
	if (g->ran)
		h->guests_lost++;
	g->discarded = true;
	g->running = false;
	return 0;
}

static bool fh_memory_available(void *ctx, uint64_t mib) { return mib <= ((struct fake_host *)ctx)->free_mib; }
static bool fh_name_free(void *ctx, const char *name)
{
	struct fake_host *h = ctx;
	return !h->existing_name || strcmp(h->existing_name, name) != 0;
}
static void fh_host_features(void *ctx, struct cpu_features *out) { *out = ((struct fake_host *)ctx)->features; }
static uint32_t fh_cpu_vendor(void *ctx) { return ((struct fake_host *)ctx)->vendor; }

static FAKE_UNUSED const struct mig_guest_ops fake_guest_ops = {
	.pause = fg_pause, .resume = fg_resume, .ram = fg_ram, .ram_bytes = fg_ram_bytes,
	.name = fg_name, .mac = fg_mac, .cpu_features = fg_features, .dirty_mode = fg_dirty_mode,
	.cpu_vendor = fg_cpu_vendor,
	.dirty_start = fg_dirty_start, .dirty_collect = fg_dirty_collect, .dirty_stop = fg_dirty_stop,
	.set_throttle = fg_set_throttle, .state_save = fg_state_save, .state_size = fg_state_size,
	.state_load = fg_state_load, .set_migrating = fg_set_migrating, .destroy = fg_destroy,
	.clock_advance = fg_clock_advance,
};

static FAKE_UNUSED const struct mig_host_ops fake_host_ops = {
	.create_incoming = fh_create_incoming, .discard_incoming = fh_discard_incoming,
	.memory_available = fh_memory_available,
	.name_free = fh_name_free, .cpu_features = fh_host_features,
	.cpu_vendor = fh_cpu_vendor,
};

/* ---- transport ---------------------------------------------------------------------- */

#define FAKE_PIPE_BYTES (512 * 1024)

struct fake_pipe {
	uint8_t *buf;
	size_t head, len;          /* ring */
	bool writer_closed;
};

struct fake_link {
	struct fake_pipe to_dst, to_src;
	uint64_t budget;           /* bytes the link still carries this step (each direction) */
	uint64_t bytes_per_step;
	int error;                 /* sticky, both ends */
	bool drop_to_dst;          /* the source's bytes vanish (a one-way cut) */
	/*
	 * A deep send buffer, as TCP's: writes fill the pipe at once and the budget limits
	 * what the reader takes per step; unacked is what the reader has not taken.
	 */
	bool deep_buffer;
	bool connected;
	int closed_ends;
};

/* One end of a fake_link: the engine's struct tcp_stream, faked. */
struct tcp_stream {
	struct fake_link *link;
	struct fake_pipe *out, *in;
	uint64_t budget_used;
	bool closed;
};

static FAKE_UNUSED void fake_link_init(struct fake_link *l, uint64_t bytes_per_step,
				       struct tcp_stream *src, struct tcp_stream *dst)
{
	memset(l, 0, sizeof(*l));
	l->to_dst.buf = malloc(FAKE_PIPE_BYTES);
	l->to_src.buf = malloc(FAKE_PIPE_BYTES);
	l->bytes_per_step = bytes_per_step;
	l->connected = true;
	*src = (struct tcp_stream){ l, &l->to_dst, &l->to_src, 0, false };
	*dst = (struct tcp_stream){ l, &l->to_src, &l->to_dst, 0, false };
}

static FAKE_UNUSED void fake_link_free(struct fake_link *l)
{
	free(l->to_dst.buf);
	free(l->to_src.buf);
}

static FAKE_UNUSED void fake_link_tick(struct fake_link *l, struct tcp_stream *a, struct tcp_stream *b)
{
	a->budget_used = b->budget_used = 0;
	(void)l;
}

static bool ft_connected(const struct tcp_stream *e) { return e->link->connected && !e->link->error; }

static size_t ft_writable(const struct tcp_stream *e)
{
	size_t room = FAKE_PIPE_BYTES - e->out->len;
	uint64_t left = e->link->bytes_per_step > e->budget_used ? e->link->bytes_per_step - e->budget_used : 0;
	if (e->link->error || e->closed)
		return 0;
	if (e->link->deep_buffer)
		return room;
	return room < left ? room : (size_t)left;
}

static long ft_write(struct tcp_stream *e, const void *buf, size_t len)
{
	if (e->link->error)
		return e->link->error;
	if (e->out->writer_closed)
		return FERR_IO;
	size_t n = ft_writable(e);
	if (n > len)
		n = len;
	if (e->link->drop_to_dst && e->out == &e->link->to_dst)
		return (long)n;
	for (size_t i = 0; i < n; i++)
		e->out->buf[(e->out->head + e->out->len + i) % FAKE_PIPE_BYTES] = ((const uint8_t *)buf)[i];
	e->out->len += n;
	if (!e->link->deep_buffer)
		e->budget_used += n;
	return (long)n;
}

static int ft_flush(struct tcp_stream *e) { (void)e; return 0; }

static long ft_read(struct tcp_stream *e, void *buf, size_t len)
{
	if (e->link->error)
		return e->link->error;
	size_t n = e->in->len < len ? e->in->len : len;
	if (n == 0 && e->in->writer_closed)
		return FERR_IO;
	if (e->link->deep_buffer) {
		uint64_t left = e->link->bytes_per_step > e->budget_used
			? e->link->bytes_per_step - e->budget_used : 0;
		if (n > left)
			n = (size_t)left;
		e->budget_used += n;
	}
	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = e->in->buf[(e->in->head + i) % FAKE_PIPE_BYTES];
	e->in->head = (e->in->head + n) % FAKE_PIPE_BYTES;
	e->in->len -= n;
	return (long)n;
}

static size_t ft_readable(const struct tcp_stream *e) { return e->in->len; }
static size_t ft_unacked(const struct tcp_stream *e) { return e->out->len; }
static int ft_error(const struct tcp_stream *e)
{
	if (e->link->error)
		return e->link->error;
	return (e->in->writer_closed && e->in->len == 0) ? FERR_IO : 0;
}
static void ft_close(struct tcp_stream *e) { e->closed = true; e->out->writer_closed = true; }
static void ft_abort(struct tcp_stream *e)
{
	e->closed = true;
	e->out->writer_closed = true;
	e->in->writer_closed = true;
}

static FAKE_UNUSED const struct mig_transport_ops fake_transport_ops = {
	.connected = ft_connected, .write = ft_write, .writable = ft_writable, .flush = ft_flush,
	.read = ft_read, .readable = ft_readable, .error = ft_error, .close = ft_close,
	.abort = ft_abort, .unacked = ft_unacked,
};

/* ---- env ------------------------------------------------------------------------------ */

static int fake_random(void *ctx, void *buf, size_t len)
{
	static uint32_t seed = 777;
	(void)ctx;
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1664525u + 1013904223u;
		((uint8_t *)buf)[i] = (uint8_t)(seed >> 24);
	}
	return 0;
}

static int fake_send_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct fake_host *h = ctx;
	h->frames_sent++;
	memcpy(h->last_frame, frame, len < sizeof(h->last_frame) ? len : sizeof(h->last_frame));
	return 0;
}

/* Working memory for an engine, freed by fake_host_free_buffers(). */
static void *fake_buffers(void *ctx, size_t bytes)
{
	struct fake_host *h = ctx;
	if (h->buffers_given == FAKE_MAX_BUFFERS ||
	    (h->buffers_limit && h->buffers_given >= h->buffers_limit))
		return NULL;
	return h->buffers[h->buffers_given++] = calloc(1, bytes);
}

static FAKE_UNUSED void fake_host_free_buffers(struct fake_host *h)
{
	for (unsigned i = 0; i < h->buffers_given; i++)
		free(h->buffers[i]);
	h->buffers_given = 0;
}

static FAKE_UNUSED struct mig_env fake_env(void *ctx, const char *key)
{
	struct mig_env env = {
		.guest_ops = &fake_guest_ops, .host_ops = &fake_host_ops,
		.transport_ops = &fake_transport_ops,
		.now_ns = fake_now, .log = NULL, .progress = NULL,
		.send_raw_frame = fake_send_frame, .random = fake_random,
		.buffers = fake_buffers,
		.key = (const uint8_t *)key, .key_len = key ? strlen(key) : 0, .ctx = ctx,
	};
	return env;
}

#endif
