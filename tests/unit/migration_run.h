/*
 * Whole migrations for host tests (test_migration_engine.c, test_migration_doubt.c):
 * a source and a destination engine over the fakes of migration_fakes.h, stepped
 * together one simulated millisecond at a time, with hooks to inject faults at any
 * step, and a destination host that serves a source in doubt: each new connection
 * it opens gets its own destination engine, whose answer to a QUERY comes from the
 * first one (run_answer, as the service answers). Header-only, like the fakes.
 */
#ifndef FERRY_TESTS_MIGRATION_RUN_H
#define FERRY_TESTS_MIGRATION_RUN_H

#include "tests/unit/check.h"
#include "tests/unit/migration_fakes.h"

#include "kernel/migration/engine_internal.h"

#define RUN_KEY "correct horse battery staple"
#define RUN_QUERIES 8                 /* connections a source in doubt may open in one test */

#define STEP_NS 1000000ull            /* one step is a simulated millisecond */

struct run {
	struct vm *guest;
	uint8_t *snapshot;              /* source RAM before the migration (writer-free runs) */
	struct fake_host host;
	struct fake_link link;
	struct tcp_stream se, de;
	struct mig_engine *src, *dst;
	struct mig_params params;
	unsigned rate;                  /* pages the guest writes per step */
	uint64_t steps;
	bool both_ran;
	bool dst_started;
	/* a source in doubt asks on new connections, each served by a destination engine */
	struct run_query {
		struct fake_link link;
		struct tcp_stream se, de;
		struct mig_engine *engine;
		bool busy;
	} query[RUN_QUERIES];
	unsigned queries;
	bool refuse_connect;            /* the destination cannot be reached any more */
	bool forget;                    /* the destination has no record of any migration */
	bool hang_queries;              /* new connections are accepted and never served */
	bool src_frozen;                /* the source host hangs: its engine is not stepped */
	/* fault injection */
	void (*hook)(struct run *r);
	void (*after_src_hook)(struct run *r);
	int hook_arg;
	bool hook_done;
#define RUN_OUTCOMES 4
	char outcome[RUN_OUTCOMES][MIG_SAY_MAX];   /* the last `migration NAME: ...` log lines, both sides */
	unsigned outcomes;                         /* lines seen (a ring of RUN_OUTCOMES) */
};

static FAKE_UNUSED void log_line(void *ctx, const char *line)
{
	struct run *r = ((struct fake_host *)ctx)->test;

	if (r && strncmp(line, "migration ", 10) == 0)   /* the last RUN_OUTCOMES kept */
		snprintf(r->outcome[r->outcomes++ % RUN_OUTCOMES], MIG_SAY_MAX, "%s", line);
}

static FAKE_UNUSED void run_setup(struct run *r, unsigned mib, uint64_t link_bytes_per_step, unsigned rate)
{
	memset(r, 0, sizeof(*r));
	r->guest = fake_guest_new("memtest", mib);
	fake_guest_fill(r->guest);
	r->snapshot = malloc(r->guest->bytes);
	memcpy(r->snapshot, r->guest->ram, r->guest->bytes);
	r->host.free_mib = 1024;
	r->host.features = r->guest->features;
	r->host.features.leaf7_ebx = 0xffff;   /* the destination offers more */
	fake_link_init(&r->link, link_bytes_per_step, &r->se, &r->de);
	r->src = calloc(1, sizeof(*r->src));
	r->dst = calloc(1, sizeof(*r->dst));
	mig_params_defaults(&r->params);
	r->rate = rate;
	r->host.test = r;
}

static FAKE_UNUSED void run_free(struct run *r)
{
	for (unsigned i = 0; i < r->queries; i++) {
		fake_link_free(&r->query[i].link);
		free(r->query[i].engine);
	}
	fake_host_free_buffers(&r->host);
	if (r->host.created)
		fake_guest_free(r->host.created);
	fake_guest_free(r->guest);
	free(r->snapshot);
	fake_link_free(&r->link);
	free(r->src);
	free(r->dst);
}

/*
 * What the destination host knows of migration id, as the service answers it: its
 * one incoming engine settles (stops if it has not started the guest) while it
 * runs, its report speaks once finished; another id is unknown.
 */
static FAKE_UNUSED unsigned run_answer(void *ctx, uint64_t id)
{
	struct run *r = ((struct fake_host *)ctx)->test;

	if (r->forget || !r->dst_started || mig_engine_kind(r->dst) != MIG_KIND_MIGRATION ||
	    mig_engine_report(r->dst)->migration_id != id)
		return MIG_ANSWER_UNKNOWN;
	if (!mig_engine_finished(r->dst))
		return mig_engine_settle(r->dst);
	return mig_answer_of_report(mig_engine_report(r->dst));
}

/* A source in doubt connects again: a new link, served by a new destination engine. */
static FAKE_UNUSED int run_connect(void *ctx, struct tcp_stream **conn)
{
	struct run *r = ((struct fake_host *)ctx)->test;
	struct run_query *q;
	struct mig_env env = fake_env(&r->host, RUN_KEY);

	if (r->refuse_connect || r->queries == RUN_QUERIES)
		return FERR_IO;
	q = &r->query[r->queries++];
	fake_link_init(&q->link, 64 * 1024, &q->se, &q->de);
	q->engine = calloc(1, mig_engine_size());
	env.log = log_line;
	env.answer_query = run_answer;
	q->busy = !r->hang_queries && mig_dest_start(q->engine, &env, &q->de) == 0;
	*conn = &q->se;
	return 0;
}

static FAKE_UNUSED int run_start(struct run *r, const char *src_key, const char *dst_key)
{
	struct mig_env senv = fake_env(&r->host, src_key), denv = fake_env(&r->host, dst_key);
	int err;

	senv.log = denv.log = log_line;
	senv.connect = run_connect;
	denv.answer_query = run_answer;
	err = mig_source_start(r->src, &senv, &r->params, r->guest, &r->se);
	if (err)
		return err;
	err = mig_dest_start(r->dst, &denv, &r->de);
	r->dst_started = err == 0;
	return err;
}

static FAKE_UNUSED bool guest_runs(const struct vm *g)
{
	return g && g->running && !g->destroyed && !g->discarded;
}

static FAKE_UNUSED void run_loop(struct run *r, uint64_t max_steps)
{
	bool src_busy = true, dst_busy = r->dst_started;

	while ((src_busy || dst_busy) && r->steps < max_steps) {
		fake_clock_ns += STEP_NS;
		fake_link_tick(&r->link, &r->se, &r->de);
		fake_guest_run(r->guest, r->rate);
		/* The destination's copy keeps still once running, so RAM can be compared. */
		if (r->hook)
			r->hook(r);
		if (src_busy && !r->src_frozen)
			src_busy = mig_engine_step(r->src);
		if (r->after_src_hook)
			r->after_src_hook(r);
		if (dst_busy && r->dst_started)
			dst_busy = mig_engine_step(r->dst);
		else
			dst_busy = false;
		for (unsigned i = 0; i < r->queries; i++) {
			fake_link_tick(&r->query[i].link, &r->query[i].se, &r->query[i].de);
			if (r->query[i].busy)
				r->query[i].busy = mig_engine_step(r->query[i].engine);
		}
		if (guest_runs(r->guest) && guest_runs(r->host.created))
			r->both_ran = true;
		r->steps++;
	}
}

static FAKE_UNUSED void print_report(const struct mig_engine *e)
{
	static char buf[8192];
	mig_report_format(mig_engine_report(e), buf, sizeof(buf));
	printf("%s", buf);
}

/* The guest is back on the source, as it was, and the destination holds nothing. */
static FAKE_UNUSED void check_left_on_source(struct run *r)
{
	CHECK(guest_runs(r->guest));
	CHECK(!r->guest->paused);
	CHECK(!r->guest->migrating);
	CHECK(!r->guest->logging);
	CHECK_EQ_U(r->guest->throttle, 0);
	CHECK(!r->guest->destroyed);
	CHECK(!r->both_ran);
	if (r->rate == 0)
		CHECK(memcmp(r->snapshot, r->guest->ram, r->guest->bytes) == 0);
	if (r->host.created)
		CHECK(r->host.created->discarded);
	CHECK_EQ_I(r->host.guests_lost, 0);
	CHECK(mig_engine_finished(r->src));
	CHECK(mig_engine_finished(r->dst));
}

/* Hook: the link fails once the source is in phase hook_arg. */
static FAKE_UNUSED void run_cut_in_phase(struct run *r)
{
	if (!r->hook_done && r->src->phase == (enum mig_engine_phase)r->hook_arg) {
		r->link.error = FERR_IO;
		r->hook_done = true;
	}
}

/*
 * Hook: the link fails once GO is sent. As r->hook (before the source's step) GO has
 * reached the destination; as r->after_src_hook, GO dies with the link.
 */
static FAKE_UNUSED void run_cut_after_go(struct run *r)
{
	if (!r->hook_done && r->src->go_sent) {
		r->link.error = FERR_IO;
		r->hook_done = true;
	}
}

/* The guest runs on the destination only, and the source's copy is gone. */
static FAKE_UNUSED void check_moved(struct run *r)
{
	CHECK(r->host.created && guest_runs(r->host.created));
	CHECK(r->guest->destroyed);
	CHECK(!r->both_ran);
	CHECK_EQ_I(r->host.guests_lost, 0);
	if (r->host.created && r->rate == 0)
		CHECK(memcmp(r->guest->ram, r->host.created->ram, r->guest->bytes) == 0);
}

#endif
