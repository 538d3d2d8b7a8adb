/*
 * A whole migration on the host, for the engine's white-box tests
 * (test_migration_engine.c, test_migration_switchover.c): a fake source guest with a
 * writer, a fake destination host, an in-memory link with a byte budget per step
 * (migration_fakes.h), both engines stepped in turn on a simulated clock, and hooks
 * for injecting failures. Include after check.h.
 */
#ifndef FERRY_TESTS_MIGRATION_RUN_H
#define FERRY_TESTS_MIGRATION_RUN_H

#include "tests/unit/migration_fakes.h"

#include "kernel/migration/engine_internal.h"

#define KEY "correct horse battery staple"
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
	/* fault injection */
	void (*hook)(struct run *r);
	void (*after_src_hook)(struct run *r);
	int hook_arg;
	bool hook_done;
	char log_tail[200];
};

static FAKE_UNUSED void log_line(void *ctx, const char *line)
{
	(void)ctx;
	(void)line;
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
}

static FAKE_UNUSED void run_free(struct run *r)
{
	if (r->host.created)
		fake_guest_free(r->host.created);
	fake_guest_free(r->guest);
	free(r->snapshot);
	fake_link_free(&r->link);
	free(r->src);
	free(r->dst);
}

static FAKE_UNUSED int run_start(struct run *r, const char *src_key, const char *dst_key)
{
	struct mig_env senv = fake_env(&r->host, src_key), denv = fake_env(&r->host, dst_key);
	int err;

	senv.log = denv.log = log_line;
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
		if (src_busy)
			src_busy = mig_engine_step(r->src);
		if (r->after_src_hook)
			r->after_src_hook(r);
		if (dst_busy && r->dst_started)
			dst_busy = mig_engine_step(r->dst);
		else
			dst_busy = false;
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
	CHECK(mig_engine_finished(r->src));
	CHECK(mig_engine_finished(r->dst));
}

#endif
