/*
 * Whole migrations between a source and a destination engine on the host: fake guests
 * (RAM buffers, a writer dirtying pages while the guest runs), an in-memory link with a
 * byte budget per step, and failures injected at each phase. White-box: the hooks look
 * at the engines' phases and state (engine_internal.h).
 */
#include "tests/unit/migration_run.h"

#include "arch/x86/vcpu.h"
#include "kernel/migration/rarp.h"

#define KEY RUN_KEY

TEST(migration_completes_and_ram_is_identical)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 20);
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	const struct mig_report *sr = mig_engine_report(r.src), *dr = mig_engine_report(r.dst);
	print_report(r.src);
	CHECK_EQ_U(sr->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_U(dr->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(r.host.created != NULL);
	if (r.host.created) {
		CHECK(memcmp(r.guest->ram, r.host.created->ram, r.guest->bytes) == 0);
		CHECK_EQ_U(r.host.created->counter, r.guest->counter);
		CHECK(guest_runs(r.host.created));
		CHECK(!r.host.created->migrating);
	}
	CHECK(r.guest->destroyed);
	CHECK(!r.both_ran);
	CHECK(sr->rounds >= 2);
	CHECK(sr->round[0].zero_pages > 0);
	CHECK(sr->round[sr->rounds - 1].final);
	CHECK(sr->downtime_src_ns > 0);
	CHECK(sr->downtime_dst_ns > 0);
	CHECK_EQ_U(sr->downtime_dst_ns, dr->downtime_dst_ns);
	CHECK_EQ_U(sr->pages, dr->pages);
	CHECK_EQ_U(sr->page_bytes, dr->page_bytes);
	/* RARP announcements at growing intervals, from the guest's MAC. */
	CHECK_EQ_I(r.host.frames_sent, RARP_ANNOUNCE_COUNT);
	CHECK(memcmp(r.host.last_frame + 6, r.guest->mac, 6) == 0);
	CHECK_EQ_U(r.host.last_frame[12], 0x80);
	CHECK_EQ_U(r.host.last_frame[13], 0x35);
	run_free(&r);
}

TEST(exactly_one_side_runs_at_every_step)
{
	struct run r;

	/* A tight downtime target forces several rounds. */
	run_setup(&r, 16, 128 * 1024, 10);
	r.guest->working_set = 2048;
	r.params.downtime_ms = 2;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 50000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(!r.both_ran);
	CHECK(mig_engine_report(r.src)->rounds >= 3);
	if (r.host.created)
		CHECK(memcmp(r.guest->ram, r.host.created->ram, r.guest->bytes) == 0);
	run_free(&r);
}

TEST(writer_faster_than_link_is_throttled)
{
	struct run r;

	/* 64 KiB a step carries ~16 pages; the guest writes 30 in a 1024-page working set. */
	run_setup(&r, 16, 64 * 1024, 30);
	r.guest->working_set = 1024;
	r.params.downtime_ms = 5;
	r.params.max_rounds = 14;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 200000);
	const struct mig_report *sr = mig_engine_report(r.src);
	print_report(r.src);
	CHECK(sr->max_throttle >= MIG_THROTTLE_FIRST);
	CHECK(r.guest->max_throttle >= MIG_THROTTLE_FIRST);
	CHECK(sr->outcome == MIG_OUTCOME_COMPLETED || sr->outcome == MIG_OUTCOME_ABANDONED);
	if (sr->outcome == MIG_OUTCOME_COMPLETED && r.host.created)
		CHECK(memcmp(r.guest->ram, r.host.created->ram, r.guest->bytes) == 0);
	else
		check_left_on_source(&r);
	CHECK(!r.both_ran);
	run_free(&r);
}

TEST(no_convergence_is_abandoned_cleanly)
{
	struct run r;

	/* Far too fast even at the highest throttle, with a small round bound. */
	run_setup(&r, 16, 16 * 1024, 4000);
	r.guest->working_set = 512;
	r.params.downtime_ms = 1;
	r.params.max_rounds = 8;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 200000);
	const struct mig_report *sr = mig_engine_report(r.src);
	print_report(r.src);
	CHECK_EQ_U(sr->outcome, MIG_OUTCOME_ABANDONED);
	CHECK(sr->max_throttle >= MIG_THROTTLE_FIRST + MIG_THROTTLE_STEP);
	CHECK_EQ_U(sr->rounds, 8);
	/* The report says what the last set would have cost: the downtime= this link meets. */
	CHECK(sr->bandwidth_bps > 0);
	CHECK(sr->estimate_ns > 1 * NS_PER_MS);
	CHECK(strstr(sr->reason, "would take about ") != NULL);
	CHECK(strstr(sr->reason, " ms against the 1 ms target") != NULL);
	check_left_on_source(&r);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_FAILED);
	run_free(&r);
}

static int progress_calls;
static struct mig_progress last_progress;

static void count_progress(void *ctx, const struct mig_progress *p)
{
	(void)ctx;
	progress_calls++;
	last_progress = *p;
}

TEST(deep_send_buffer_drains_before_the_pause)
{
	struct run r;

	/*
	 * A TCP-like send buffer (512 KiB) in front of a 16 KiB/ms link: 32 ms of queue,
	 * more than the 20 ms target. The bandwidth must be measured by what the peer
	 * took, and the queue left to drain before the guest is paused.
	 */
	run_setup(&r, 16, 16 * 1024, 1);
	r.link.deep_buffer = true;
	r.guest->working_set = 32;
	r.params.downtime_ms = 20;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 50000);
	const struct mig_report *sr = mig_engine_report(r.src);
	print_report(r.src);
	CHECK_EQ_U(sr->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(!r.both_ran);
	CHECK(sr->downtime_src_ns <= 30 * STEP_NS);
	/* measured by what was taken: about 16 KiB per 1 ms step, not the buffer's fill rate */
	CHECK(sr->bandwidth_bps <= 17ull * 1024 * 1000 && sr->bandwidth_bps >= 15ull * 1024 * 1000);
	if (r.host.created)
		CHECK(memcmp(r.guest->ram, r.host.created->ram, r.guest->bytes) == 0);
	run_free(&r);
}

TEST(bandwidth_limit_paces_the_stream)
{
	struct run r;

	/* 8 MB/s: 8 KB per simulated millisecond, on a link that could carry 256 KB. */
	run_setup(&r, 16, 256 * 1024, 0);
	r.params.bandwidth_mbps = 8;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	r.src->env.progress = count_progress;
	progress_calls = 0;
	run_loop(&r, 100000);
	const struct mig_report *sr = mig_engine_report(r.src);
	CHECK_EQ_U(sr->outcome, MIG_OUTCOME_COMPLETED);
	/* ~8.4 MB of pages at 8 MB/s takes about 1050 ms; unpaced it would take ~70. */
	CHECK(sr->total_ns >= 950 * STEP_NS);
	CHECK(sr->throughput_kbps <= 8000 + 800);
	/* A progress line about once a second, with a rate near the limit. */
	CHECK(progress_calls >= 1);
	CHECK(last_progress.rate_kbps > 4000 && last_progress.rate_kbps <= 9000);
	CHECK(last_progress.remaining_pages > 0 && last_progress.eta_ms > 0);
	run_free(&r);
}

/* ---- refusals ---------------------------------------------------------------------- */

static void check_refused(struct run *r, const char *fragment)
{
	const struct mig_report *sr = mig_engine_report(r->src);
	CHECK_EQ_U(sr->outcome, MIG_OUTCOME_FAILED);
	CHECK(strstr(sr->reason, fragment) != NULL);
	if (!strstr(sr->reason, fragment))
		printf("  reason: %s\n", sr->reason);
	check_left_on_source(r);
}

TEST(refusal_for_memory)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.free_mib = 8;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "memory");
	CHECK(r.host.created == NULL);
	run_free(&r);
}

TEST(refusal_for_cpu_features)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.features.leaf1_ecx = 0;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "cpu-features");
	check_refused(&r, "leaf1.ecx=0x80000001");
	run_free(&r);
}

TEST(refusal_for_another_cpu_vendor)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.guest->vendor = VCPU_VENDOR_AMD;
	r.host.vendor = VCPU_VENDOR_INTEL;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "cpu-vendor");
	check_refused(&r, "the guest ran on an AMD CPU (AMD-V); this host is Intel (VT-x)");
	CHECK(r.host.created == NULL);
	run_free(&r);
}

TEST(refusal_for_name)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.existing_name = "memtest";
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "name-taken");
	run_free(&r);
}

TEST(refusal_when_the_shell_cannot_be_created)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.refuse_create = true;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "no room");
	run_free(&r);
}

TEST(refusal_for_the_offered_mac)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.refuse_mac = "mac 02:00:00:00:00:01 is in use by another guest here";
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	check_refused(&r, "invalid-offer");
	check_refused(&r, "mac 02:00:00:00:00:01 is in use by another guest here");
	CHECK(r.host.created == NULL);
	/* Refused at the offer, before any page: not after a pre-copy. */
	CHECK_EQ_U(mig_engine_report(r.src)->page_bytes, 0);
	CHECK_EQ_U(mig_engine_report(r.src)->rounds, 0);
	run_free(&r);
}

TEST(wrong_key_is_refused)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	CHECK_EQ_I(run_start(&r, KEY, "another key entirely"), 0);
	run_loop(&r, 10000);
	check_refused(&r, "auth");
	CHECK(strstr(mig_engine_report(r.dst)->reason, "key") != NULL);
	run_free(&r);
}

TEST(destination_without_key_refuses)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	CHECK_EQ_I(run_start(&r, KEY, NULL), 0);
	run_loop(&r, 10000);
	check_refused(&r, "no-key");
	run_free(&r);
}

TEST(source_without_key_refuses_to_start)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	CHECK_EQ_I(run_start(&r, NULL, KEY), FERR_AUTH);
	CHECK(strstr(mig_engine_report(r.src)->reason, "migration_key") != NULL);
	CHECK(guest_runs(r.guest));
	CHECK(!r.guest->migrating);
	run_free(&r);
}

static int no_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return FERR_NOTSUP;
}

/* Randomness comes only from env->random: without it neither side starts. */
TEST(no_random_source_refuses_both_sides)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	struct mig_env senv = fake_env(&r.host, KEY), denv = fake_env(&r.host, KEY);
	senv.random = denv.random = no_random;
	CHECK_EQ_I(mig_source_start(r.src, &senv, &r.params, r.guest, &r.se), FERR_NOTSUP);
	CHECK(mig_engine_finished(r.src));
	CHECK(strstr(mig_engine_report(r.src)->reason, "entropy") != NULL);
	CHECK(guest_runs(r.guest) && !r.guest->migrating);
	CHECK(!r.se.closed);             /* a refused start leaves conn to the caller */
	CHECK_EQ_I(mig_dest_start(r.dst, &denv, &r.de), FERR_NOTSUP);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_FAILED);
	CHECK(r.de.closed);              /* an incoming connection is the engine's at once */
	run_free(&r);
}

/* ---- failures injected at each phase ------------------------------------------------- */

static void run_cut(enum mig_engine_phase phase, unsigned rate)
{
	struct run r;
	run_setup(&r, 16, 128 * 1024, rate);
	r.hook = run_cut_in_phase;
	r.hook_arg = (int)phase;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK(r.hook_done);
	check_left_on_source(&r);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_FAILED);
	run_free(&r);
}

TEST(link_cut_in_handshake) { run_cut(MIG_PHASE_HANDSHAKE, 0); }
TEST(link_cut_in_precopy) { run_cut(MIG_PHASE_PRECOPY, 0); }
TEST(link_cut_in_precopy_with_writer) { run_cut(MIG_PHASE_PRECOPY, 30); }
TEST(link_cut_in_stop_and_copy) { run_cut(MIG_PHASE_STOP_COPY, 0); }

/* Cut after DONE, before READY reaches the source. */
static void cut_before_ready(struct run *r)
{
	if (!r->hook_done && r->dst->phase == MIG_PHASE_SWITCHOVER) {
		r->link.error = FERR_IO;
		r->hook_done = true;
	}
}

TEST(link_cut_before_ready)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = cut_before_ready;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK(r.hook_done);
	check_left_on_source(&r);
	run_free(&r);
}

TEST(cut_after_go_delivered_is_in_doubt_then_resolved_to_destination)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = run_cut_after_go;
	r.refuse_connect = true;   /* nobody to ask: the operator settles it */
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_IN_DOUBT);
	CHECK(r.guest->paused && !guest_runs(r.guest) && r.guest->migrating);
	CHECK(guest_runs(r.host.created));
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(!r.both_ran);
	CHECK_EQ_I(mig_engine_cancel(r.src, "x"), FERR_BUSY);   /* too late: it may run there */
	CHECK_EQ_I(mig_engine_resolve(r.src, true), 0);
	CHECK(r.guest->destroyed);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	run_free(&r);
}

TEST(cut_as_go_is_sent_is_in_doubt_then_resolved_to_source)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.after_src_hook = run_cut_after_go;
	r.refuse_connect = true;   /* nobody to ask: the operator settles it */
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_IN_DOUBT);
	CHECK(r.guest->paused && !guest_runs(r.guest));
	/* The destination never got GO: it discarded the shell. */
	CHECK(r.host.created && r.host.created->discarded);
	CHECK(!r.both_ran);
	CHECK_EQ_I(mig_engine_resolve(r.src, false), 0);
	check_left_on_source(&r);
	CHECK_EQ_I(mig_engine_resolve(r.src, false), FERR_INVAL);
	run_free(&r);
}

/* GO is lost one way; the destination times out waiting, says ABORT, the source resumes. */
static void drop_go(struct run *r)
{
	if (!r->hook_done && r->dst->phase == MIG_PHASE_SWITCHOVER) {
		r->link.drop_to_dst = true;
		r->hook_done = true;
	}
}

TEST(go_lost_destination_aborts_and_source_resumes)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = drop_go;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(strstr(mig_engine_report(r.src)->reason, "timeout") != NULL);
	check_left_on_source(&r);
	run_free(&r);
}

/* The destination host hangs mid pre-copy (no reset, it just stops reading and writing). */
static void hang_destination(struct run *r)
{
	if (!r->hook_done && r->src->phase == MIG_PHASE_PRECOPY && r->src->src.cursor > 1000) {
		r->dst_started = false;
		r->hook_done = true;
	}
}

TEST(destination_hangs_in_precopy)
{
	struct run r;
	run_setup(&r, 16, 128 * 1024, 0);
	r.hook = hang_destination;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(strstr(mig_engine_report(r.src)->reason, "stopped reading") != NULL);
	CHECK(guest_runs(r.guest) && !r.guest->migrating && !r.guest->logging);
	CHECK(memcmp(r.snapshot, r.guest->ram, r.guest->bytes) == 0);
	run_free(&r);
}

static void fail_resume(struct run *r)
{
	if (r->host.created)
		r->host.created->fail_resume = true;
}

TEST(destination_cannot_start_the_guest_after_go)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = fail_resume;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	check_refused(&r, "could not be started");
	run_free(&r);
}

static void fail_state_load(struct run *r)
{
	if (r->host.created)
		r->host.created->fail_state_load = true;
}

TEST(state_refused_by_destination)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = fail_state_load;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	check_refused(&r, "state");
	run_free(&r);
}

/* The longest reason a VM layer gives (VM_WHY_MAX - 1 characters), its end marked. */
static const char *longest_why(void)
{
	static char why[VM_WHY_MAX];
	memset(why, 'w', sizeof(why) - 1);
	memcpy(why + sizeof(why) - 1 - 4, "-END", 4);
	why[sizeof(why) - 1] = '\0';
	return why;
}

static bool logged_whole(const struct run *r, const char *text)
{
	for (unsigned i = 0; i < RUN_OUTCOMES && i < r->outcomes; i++)
		if (strstr(r->outcome[i], text))
			return true;
	return false;
}

static void fail_state_load_longest(struct run *r)
{
	if (r->host.created) {
		r->host.created->fail_state_load = true;
		r->host.created->state_why = longest_why();
	}
}

/* A destination's longest refusal (its prefix before a VM layer's longest why) reaches the
 * source's report and log whole: the wire field, the report and the log line agree. */
TEST(the_longest_refusal_arrives_whole)
{
	static char expect[MIG_REPORT_REASON_MAX + 1];
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = fail_state_load_longest;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	snprintf(expect, sizeof(expect), "destination aborted (state): guest state refused: %s",
		 longest_why());
	CHECK(strlen("guest state refused: ") + strlen(longest_why()) <= MIG_TEXT_MAX);
	check_refused(&r, expect);
	CHECK(logged_whole(&r, expect));
	run_free(&r);

	/* The longest text a destination composes: every CPU word lacking, every bit. */
	static char bits[CPU_FEATURES_TEXT_MAX + 1];
	run_setup(&r, 16, 256 * 1024, 0);
	memset(&r.guest->features, 0xff, sizeof(r.guest->features));
	memset(&r.host.features, 0, sizeof(r.host.features));
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	cpu_features_format(&r.guest->features, bits, sizeof(bits));
	CHECK_EQ_U(strlen(bits), CPU_FEATURES_TEXT_MAX - 2);   /* two names are 8 characters */
	snprintf(expect, sizeof(expect), "destination refused (cpu-features): destination CPU lacks %s",
		 bits);
	check_refused(&r, expect);
	CHECK_STR(mig_engine_report(r.src)->reason, expect);
	CHECK(logged_whole(&r, expect));
	run_free(&r);

	/* At the offer: a REFUSE with a VM layer's longest text. */
	run_setup(&r, 16, 256 * 1024, 0);
	r.host.refuse_mac = longest_why();
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 10000);
	snprintf(expect, sizeof(expect), "destination refused (invalid-offer): %s", longest_why());
	check_refused(&r, expect);
	CHECK(logged_whole(&r, expect));
	run_free(&r);
}

static void cancel_in_phase(struct run *r)
{
	if (!r->hook_done && r->src->phase == (enum mig_engine_phase)r->hook_arg) {
		CHECK_EQ_I(mig_engine_cancel(r->src, "operator cancelled"), 0);
		r->hook_done = true;
	}
}

static void run_cancel(enum mig_engine_phase phase)
{
	struct run r;
	run_setup(&r, 16, 128 * 1024, 0);
	r.hook = cancel_in_phase;
	r.hook_arg = (int)phase;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_CANCELLED);
	check_left_on_source(&r);
	CHECK(strstr(mig_engine_report(r.dst)->reason, "cancelled") != NULL);
	run_free(&r);
}

TEST(cancel_in_handshake) { run_cancel(MIG_PHASE_HANDSHAKE); }
TEST(cancel_in_precopy) { run_cancel(MIG_PHASE_PRECOPY); }

/* After a source step: cancels once the pace holds more queued bytes than a step lets out. */
static void cancel_with_bytes_held_by_the_pace(struct run *r)
{
	const uint8_t *data;

	if (!r->hook_done && r->src->phase == MIG_PHASE_PRECOPY &&
	    mig_src_pending(&r->src->proto.src, &data) > 16 * 1024) {
		CHECK_EQ_I(mig_engine_cancel(r->src, "operator cancelled"), 0);
		r->hook_done = true;
	}
}

TEST(cancel_under_a_bandwidth_cap_still_tells_the_destination_why)
{
	struct run r;

	/*
	 * 1 MB/s on a link that could carry 256 KB a step: the writer holds whole batches
	 * the pace has not let out yet. The ABORT must not wait behind them (nor be dropped
	 * for want of room), or the destination sees only a closed connection.
	 */
	run_setup(&r, 16, 256 * 1024, 0);
	r.params.bandwidth_mbps = 1;
	r.after_src_hook = cancel_with_bytes_held_by_the_pace;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_CANCELLED);
	check_left_on_source(&r);
	CHECK(strstr(mig_engine_report(r.dst)->reason, "operator cancelled") != NULL);
	if (!strstr(mig_engine_report(r.dst)->reason, "operator cancelled"))
		printf("  destination's reason: %s\n", mig_engine_report(r.dst)->reason);
	run_free(&r);
}

TEST(cancel_after_completion_is_refused)
{
	struct run r;
	run_setup(&r, 16, 256 * 1024, 0);
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_I(mig_engine_cancel(r.src, "late"), FERR_INVAL);
	run_free(&r);
}

TEST(report_formats_table_and_figures)
{
	struct mig_report rep;
	char buf[4096];

	memset(&rep, 0, sizeof(rep));
	snprintf(rep.guest, sizeof(rep.guest), "memtest");
	rep.role = MIG_ROLE_SOURCE;
	rep.outcome = MIG_OUTCOME_COMPLETED;
	rep.rounds = 2;
	rep.round[0] = (struct mig_round_stats){ .round = 0, .pages = 4096, .zero_pages = 2048,
						 .bytes = 8404992, .duration_ns = 33000000,
						 .dirty_found = 640 };
	rep.round[1] = (struct mig_round_stats){ .round = 1, .final = true, .pages = 640,
						 .bytes = 2626560, .duration_ns = 5000000 };
	rep.ram_bytes = 16u << 20;
	rep.page_bytes = 11031552;
	rep.downtime_src_ns = 6123456;
	rep.downtime_target_ms = 50;
	size_t len = mig_report_format(&rep, buf, sizeof(buf));
	CHECK_EQ_U(len, strlen(buf));
	CHECK(strstr(buf, "ROUND       PAGES       ZERO") == buf);
	CHECK(strstr(buf, "\n1*            640") != NULL);
	CHECK(strstr(buf, "outcome=completed") != NULL);
	CHECK(strstr(buf, "downtime_source_ms=6.123") != NULL);
	CHECK(strstr(buf, "sent_over_ram_pct=65") != NULL);
	/* Truncation keeps the full length, like snprintf. */
	char small[16];
	CHECK_EQ_U(mig_report_format(&rep, small, sizeof(small)), len);
	CHECK_EQ_U(strlen(small), sizeof(small) - 1);
}

TEST(rarp_frame_layout)
{
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	uint8_t f[RARP_FRAME_BYTES];
	static const uint8_t expect[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,
		0x80, 0x35, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x03,
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0, 0, 0, 0,
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 0, 0, 0, 0,
	};

	CHECK_EQ_U(rarp_build_announce(f, mac), 60);
	CHECK(memcmp(f, expect, sizeof(expect)) == 0);
	for (unsigned i = sizeof(expect); i < RARP_FRAME_BYTES; i++)
		CHECK_EQ_U(f[i], 0);
	for (unsigned i = 1; i < RARP_ANNOUNCE_COUNT; i++)
		CHECK(rarp_announce_ms[i] - rarp_announce_ms[i - 1] >
		      (i > 1 ? rarp_announce_ms[i - 1] - rarp_announce_ms[i - 2] : 0));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_tests();
}
