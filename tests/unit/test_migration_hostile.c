/*
 * Whole migrations against hostile peers and links (issue 12 items 2, 4 and 12): bytes
 * after GO, connections reset after the resume and in every phase, a source in doubt
 * settled by asking the destination (or by its operator when the destination cannot
 * say), the handshake deadline on both sides, liveness counted in verified messages,
 * the cap on a paused guest, and a destination without working memory to spare. The
 * fakes' discard destroys whatever guest it is given, so every test also checks that
 * no guest that ran was discarded (host.guests_lost).
 */
#include "tests/unit/migration_run.h"

#define KEY RUN_KEY
#define STEPS_PER_S 1000               /* STEP_NS is a millisecond */

static const uint8_t stray[17] = { 0x0a };   /* issue 12 item 1's bytes, here after GO */

/* Puts bytes into the link towards the destination, as someone on the path would. */
static void inject_to_dst(struct run *r, const uint8_t *bytes, size_t n)
{
	struct fake_pipe *p = &r->link.to_dst;

	for (size_t i = 0; i < n; i++)
		p->buf[(p->head + p->len + i) % FAKE_PIPE_BYTES] = bytes[i];
	p->len += n;
}

static bool reason_has(const struct mig_engine *e, const char *text)
{
	bool found = strstr(mig_engine_report(e)->reason, text) != NULL;

	if (!found)
		printf("  reason: \"%s\" lacks \"%s\"\n", mig_engine_report(e)->reason, text);
	return found;
}

/* ---- item 2: after GO ---------------------------------------------------------------------- */

/* Bytes right behind GO, read with it: the guest runs on, RESUMED still goes out. */
static void inject_after_go(struct run *r)
{
	if (!r->hook_done && r->src->go_sent) {
		inject_to_dst(r, stray, sizeof(stray));
		r->hook_done = true;
	}
}

TEST(bytes_after_go_never_lose_the_guest)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	/* verify=after reads the source's sums after GO: test_migration_switchover.c covers it. */
	r.params.verify = MIG_VERIFY_OFF;
	r.after_src_hook = inject_after_go;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(reason_has(r.dst, "ignored"));
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_I(r.host.frames_sent, 5);
	check_moved(&r);
	run_free(&r);
}

/* Bytes towards the source after GO, ahead of RESUMED: the source is in doubt, asks, and learns. */
static void inject_to_source_after_go(struct run *r)
{
	struct fake_pipe *p = &r->link.to_src;

	if (!r->hook_done && r->src->go_sent) {
		for (size_t i = 0; i < sizeof(stray); i++)
			p->buf[(p->head + p->len + i) % FAKE_PIPE_BYTES] = stray[i];
		p->len += sizeof(stray);
		r->hook_done = true;
	}
}

TEST(bytes_towards_the_source_after_go_are_settled_by_asking)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.after_src_hook = inject_to_source_after_go;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(reason_has(r.src, "resolved by asking the destination"));
	check_moved(&r);
	run_free(&r);
}

/* The connection dies right after the resume: the guest stays; the source asks and learns it. */
static void cut_after_resume(struct run *r)
{
	if (!r->hook_done && r->dst->dst.resumed) {
		r->link.error = FERR_IO;
		r->hook_done = true;
	}
}

TEST(connection_reset_after_the_resume_keeps_the_guest)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = cut_after_resume;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_I(r.host.frames_sent, 5);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(reason_has(r.src, "resolved by asking the destination"));
	CHECK(r.queries >= 1);
	check_moved(&r);
	run_free(&r);
}

/* ---- a reset in each phase ------------------------------------------------------------------ */

TEST(reset_in_each_phase_before_go_leaves_the_guest_on_the_source)
{
	static const enum mig_engine_phase phases[] = {
		MIG_PHASE_CONNECTING, MIG_PHASE_HANDSHAKE, MIG_PHASE_PRECOPY, MIG_PHASE_STOP_COPY,
		MIG_PHASE_SWITCHOVER,
	};

	for (unsigned i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		struct run r;
		run_setup(&r, 16, 128 * 1024, 0);
		r.hook = run_cut_in_phase;
		r.hook_arg = (int)phases[i];
		/* STOP_COPY and SWITCHOVER: a slow link keeps the source there a while. */
		r.params.downtime_ms = 2000;
		CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
		run_loop(&r, 100000);
		if (!r.hook_done)
			printf("  phase %s never seen\n", mig_phase_name(phases[i]));
		CHECK(r.hook_done);
		check_left_on_source(&r);
		CHECK_EQ_U(mig_engine_report(r.dst)->outcome, MIG_OUTCOME_FAILED);
		run_free(&r);
	}
}

/* ---- item 12: a source in doubt asks -------------------------------------------------------- */

TEST(in_doubt_after_go_delivered_settles_for_the_destination)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = run_cut_after_go;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK(reason_has(r.src, "resolved by asking the destination: the guest runs"));
	CHECK(mig_engine_finished(r.src));
	check_moved(&r);
	run_free(&r);
}

/* GO died with the link: the destination never ran the guest, and says so. */
TEST(in_doubt_after_go_lost_settles_for_the_source)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.after_src_hook = run_cut_after_go;   /* right after GO is written */
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(reason_has(r.src, "never ran the guest; resumed here"));
	check_left_on_source(&r);
	run_free(&r);
}

/*
 * GO vanishes on a path that keeps the destination's connection open (a relay that
 * went silent: the source's reset never reaches it either); the source gives up
 * waiting first (a short reply timeout) and asks while the destination still waits
 * for GO: the destination stops that migration, answers never-ran, and never starts
 * the guest.
 */
static struct fake_link silent_path;
static struct tcp_stream silent_src, silent_dst;

static void lose_go(struct run *r)
{
	if (!r->hook_done && r->src->go_sent) {
		r->link.to_dst.len -= MIG_HEADER_BYTES + MIG_GO_BYTES;   /* GO, written, unread */
		fake_link_init(&silent_path, 0, &silent_src, &silent_dst);
		r->src->conn = &silent_src;   /* from now on the source talks to nobody */
		r->hook_done = true;
	}
}

TEST(in_doubt_while_the_destination_waits_for_go)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.after_src_hook = lose_go;
	r.params.reply_timeout_ms = 3000;   /* the source's; the destination waits 30 s */
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(reason_has(r.src, "resolved by asking the destination"));
	CHECK(reason_has(r.dst, "asked about it"));
	CHECK(r.steps < 20 * STEPS_PER_S);   /* settled well before the destination's own timeout */
	check_left_on_source(&r);
	run_free(&r);
	fake_link_free(&silent_path);
}

/* The query lands just before the destination reads GO: GO then starts nothing. */
static void settle_before_go_is_read(struct run *r)
{
	if (!r->hook_done && r->src->go_sent) {
		CHECK_EQ_U(mig_engine_settle(r->dst), MIG_ANSWER_NEVER_RAN);
		r->hook_done = true;
	}
}

TEST(a_settled_migration_never_starts_on_go)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.after_src_hook = settle_before_go_is_read;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 100000);
	CHECK(r.hook_done);
	CHECK(r.host.created && !r.host.created->ran);
	/* Its ABORT (cancelled) tells the source, which resumes: the guest never ran twice. */
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_CANCELLED);
	check_left_on_source(&r);
	run_free(&r);
}

/* No record on the destination: still in doubt, asking less and less often; the operator decides. */
TEST(unknown_answer_leaves_it_to_the_operator)
{
	struct run r;
	enum mig_answer answer;
	const char *why;

	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = run_cut_after_go;
	r.forget = true;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 40 * STEPS_PER_S);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_IN_DOUBT);
	CHECK_EQ_U(mig_engine_phase(r.src), MIG_PHASE_IN_DOUBT);
	uint32_t asked = mig_engine_doubt(r.src, &answer, &why);
	/* 1 s, then 2, 4, 8, 16 s between queries: four or five in the first 40 s. */
	CHECK(asked >= 3 && asked <= 6);
	CHECK_EQ_U(answer, MIG_ANSWER_UNKNOWN);
	CHECK(strstr(why, "no record") != NULL);
	CHECK(r.guest->paused && r.guest->migrating && !r.guest->destroyed);
	/* Asking now starts a query at the next step, whatever the back-off. */
	CHECK_EQ_I(mig_engine_query_now(r.src), (long)asked);
	r.steps = 0;
	run_loop(&r, 100);
	CHECK(mig_engine_doubt(r.src, NULL, NULL) == asked + 1);
	/* A definite answer would bind the operator. */
	r.src->src.doubt.answer = MIG_ANSWER_RAN;
	CHECK_EQ_I(mig_engine_resolve(r.src, false), FERR_BUSY);
	r.src->src.doubt.answer = MIG_ANSWER_UNKNOWN;
	CHECK_EQ_I(mig_engine_resolve(r.src, true), 0);
	CHECK(reason_has(r.src, "resolved by the operator"));
	CHECK_EQ_I(mig_engine_resolve(r.src, true), FERR_INVAL);
	check_moved(&r);
	run_free(&r);
}

/* An operator's question replaces a query that hangs on a path that has since healed. */
TEST(ask_now_replaces_a_query_that_hangs)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.hook = run_cut_after_go;
	r.hang_queries = true;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 3 * STEPS_PER_S);
	CHECK(r.src->src.doubt.querying);
	CHECK_EQ_U(r.queries, 1);
	r.hang_queries = false;
	CHECK_EQ_I(mig_engine_query_now(r.src), 0);
	r.steps = 0;
	run_loop(&r, 2 * STEPS_PER_S);
	CHECK_EQ_U(r.queries, 2);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_COMPLETED);
	CHECK_EQ_U(mig_engine_doubt(r.src, NULL, NULL), 1);   /* the abandoned one is not counted */
	check_moved(&r);
	run_free(&r);
}

/* ---- item 4: deadlines, liveness, the pause cap, memory -------------------------------------- */

/* A HELLO one byte every half second: closed at the handshake deadline, having cost nothing. */
TEST(trickled_hello_meets_the_handshake_deadline)
{
	struct run r;
	uint8_t hello[MIG_HEADER_BYTES + MIG_HELLO_BYTES];
	struct mig_header h = { .type = MIG_HELLO, .length = MIG_HELLO_BYTES };
	struct mig_hello body = { .magic = MIG_HELLO_MAGIC, .version = MIG_PROTO_VERSION,
				  .role = MIG_ROLE_SOURCE };
	struct mig_env env;
	size_t sent = 0;
	uint64_t start = fake_clock_ns;

	run_setup(&r, 16, 256 * 1024, 0);
	mig_header_encode(hello, &h);
	mig_encode_hello(hello + MIG_HEADER_BYTES, &body);
	env = fake_env(&r.host, KEY);
	CHECK_EQ_I(mig_dest_start(r.dst, &env, &r.de), 0);
	for (uint64_t step = 0; step < 60 * STEPS_PER_S && !mig_engine_finished(r.dst); step++) {
		fake_clock_ns += STEP_NS;
		fake_link_tick(&r.link, &r.se, &r.de);
		if (step % (STEPS_PER_S / 2) == 0 && sent < sizeof(hello))
			inject_to_dst(&r, hello + sent++, 1);
		mig_engine_step(r.dst);
	}
	CHECK(mig_engine_finished(r.dst));
	CHECK(reason_has(r.dst, "handshake deadline"));
	uint64_t took_ms = (fake_clock_ns - start) / NS_PER_MS;
	CHECK(took_ms >= MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS && took_ms <= MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS + 10);
	CHECK(sent < sizeof(hello));
	CHECK_EQ_U(r.host.buffers_given, 0);
	CHECK(r.host.created == NULL);
	CHECK(!mig_engine_authenticated(r.dst));
	run_free(&r);
}

/* A destination that accepts the connection and never answers: the source gives up at 10 s. */
TEST(silent_destination_meets_the_handshake_deadline)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	r.dst_started = false;   /* its host hangs */
	run_loop(&r, 60 * STEPS_PER_S);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(reason_has(r.src, "handshake deadline"));
	CHECK(r.steps <= MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS + 10);
	CHECK(guest_runs(r.guest) && !r.guest->migrating);
	run_free(&r);
}

/*
 * The source hangs mid pre-copy; someone trickles the bytes of a message that never
 * completes. The destination counts whole messages, not bytes: it gives up one
 * reply timeout after the last whole message, bytes still coming.
 */
static void freeze_then_trickle(struct run *r)
{
	static uint8_t partial[MIG_HEADER_BYTES + MIG_PAGE_WIRE_BYTES];
	static size_t at;

	if (!r->hook_done && r->dst->phase == MIG_PHASE_PRECOPY && r->dst->report.pages > 100) {
		struct mig_header h = { .type = MIG_PAGES, .length = MIG_PAGE_WIRE_BYTES };
		r->src_frozen = true;
		r->hook_done = true;
		r->hook_arg = (int)(r->dst->last_rx_ns / NS_PER_MS);
		r->link.to_dst.len = 0;   /* what the source had sent and not been read is lost */
		h.sequence = r->dst->proto.dst.reader.next_sequence;
		if (r->dst->proto.dst.reader.phase == MIG_READER_BODY)
			h.sequence++;
		mig_header_encode(partial, &h);
		at = 0;
	}
	if (r->hook_done && !mig_engine_finished(r->dst) && r->steps % 200 == 0 && at < sizeof(partial))
		inject_to_dst(r, partial + at++, 1);
}

TEST(liveness_counts_verified_messages_not_bytes)
{
	struct run r;

	run_setup(&r, 16, 64 * 1024, 0);
	r.hook = freeze_then_trickle;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 120 * STEPS_PER_S);
	CHECK(r.hook_done);
	CHECK(mig_engine_finished(r.dst));
	CHECK(reason_has(r.dst, "source stopped sending"));
	/* One reply timeout after the last whole message, though bytes came all along. */
	uint64_t gave_up_ms = r.dst->start_ns / NS_PER_MS + mig_engine_report(r.dst)->total_ns / NS_PER_MS;
	CHECK(gave_up_ms >= (uint64_t)r.hook_arg + MIG_DEFAULT_REPLY_TIMEOUT_MS);
	CHECK(gave_up_ms <= (uint64_t)r.hook_arg + MIG_DEFAULT_REPLY_TIMEOUT_MS + 5);
	CHECK(r.dst->proto.dst.reader.have > MIG_HEADER_BYTES);   /* the trickle got in */
	CHECK(r.host.created && r.host.created->discarded);
	CHECK_EQ_I(r.host.guests_lost, 0);
	run_free(&r);
}

/* The destination takes the stop-and-copy round a byte a millisecond: the guest resumes at the cap. */
static void starve_stop_and_copy(struct run *r)
{
	if (!r->hook_done && r->src->phase == MIG_PHASE_STOP_COPY) {
		r->link.bytes_per_step = 1;
		r->hook_done = true;
	}
	if (r->hook_done && mig_engine_finished(r->src))
		r->link.bytes_per_step = 256 * 1024;   /* the rest drains, the destination fails */
}

TEST(paused_guest_resumes_at_the_cap)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 10);
	r.guest->working_set = 512;
	r.params.downtime_ms = 200;
	r.hook = starve_stop_and_copy;
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 200 * STEPS_PER_S);
	CHECK(r.hook_done);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(reason_has(r.src, "paused 10000 ms"));
	/* At the cap, not at the 30 s stall timeout: the trickle kept the stream "alive". */
	CHECK(mig_engine_report(r.src)->total_ns < (uint64_t)25 * NS_PER_S);
	check_left_on_source(&r);
	run_free(&r);
}

/* No working memory for another incoming migration: the offer is refused, busy. */
TEST(destination_without_memory_to_spare_refuses_busy)
{
	struct run r;

	run_setup(&r, 16, 256 * 1024, 0);
	r.host.buffers_limit = 1;   /* the source's */
	CHECK_EQ_I(run_start(&r, KEY, KEY), 0);
	run_loop(&r, 20000);
	CHECK_EQ_U(mig_engine_report(r.src)->outcome, MIG_OUTCOME_FAILED);
	CHECK(reason_has(r.src, "busy"));
	CHECK(r.host.created == NULL);
	check_left_on_source(&r);
	run_free(&r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_tests();
}
