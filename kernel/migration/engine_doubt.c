/*
 * A source in doubt (engine.h): GO was sent and neither RESUMED nor ABORT came back,
 * so the destination may run the guest already, or never will. The copy here stays
 * paused and marked migrating, and the engine asks the destination on new
 * connections (HELLO, AUTH, then QUERY with the migration id instead of an offer):
 * "running" settles it for the destination (the copy here is destroyed: completed),
 * "never-ran" for the source (the guest resumes here: failed); "unknown", a refusal
 * or no answer leave it in doubt and the engine asks again, after 1 s, then twice as
 * long each time up to a minute. A destination answers never-ran only for a guest it
 * will never start (mig_engine_settle stops a migration that has not resumed it), so
 * at no moment may both hosts run it. An operator may settle it meanwhile
 * (mig_engine_resolve), but never against a definite answer. Portable.
 */
#include "kernel/migration/engine_internal.h"

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

static void doubt_schedule(struct mig_engine *e)
{
	struct mig_engine_doubt *d = &e->src.doubt;

	d->next_query_ns = mig_now(e) + (uint64_t)d->interval_ms * NS_PER_MS;
	d->interval_ms = d->interval_ms * 2 > MIG_QUERY_MAX_INTERVAL_MS
		? MIG_QUERY_MAX_INTERVAL_MS : d->interval_ms * 2;
}

void mig_src_in_doubt(struct mig_engine *e, int err, const char *why)
{
	struct mig_engine_doubt *d = &e->src.doubt;

	mig_set_reason(e, err, why);
	mig_close_conn(e, false);
	mig_src_fini(&e->proto.src);
	mig_say(e, "migration %s: IN DOUBT, guest kept paused here: %s", e->report.guest, why);
	/* The report's totals and log line as for any end; the engine goes on asking. */
	mig_finish(e, MIG_OUTCOME_IN_DOUBT);
	e->phase = MIG_PHASE_IN_DOUBT;
	d->querying = false;
	d->queries = 0;
	d->answer = MIG_ANSWER_NONE;
	d->why[0] = '\0';
	d->interval_ms = MIG_QUERY_FIRST_MS;
	doubt_schedule(e);
}

/* Leaves doubt: the destination runs the guest (the copy here goes) or never will (resumed here). */
static void doubt_settle(struct mig_engine *e, bool dest_runs, const char *who)
{
	if (e->conn)
		mig_close_conn(e, false);
	mig_src_fini(&e->proto.src);
	e->src.doubt.querying = false;
	if (dest_runs) {
		mig_src_drop_guest(e);
		e->report.outcome = MIG_OUTCOME_COMPLETED;
		fmt_snprintf(e->report.reason, sizeof(e->report.reason),
			     "resolved by %s: the guest runs on the destination", who);
		e->report.err = 0;
	} else {
		mig_src_restore_guest(e);
		e->report.outcome = MIG_OUTCOME_FAILED;
		fmt_snprintf(e->report.reason, sizeof(e->report.reason),
			     "resolved by %s: the destination never ran the guest; resumed here", who);
		e->report.err = FERR_IO;
	}
	e->phase = MIG_PHASE_FINISHED;
	mig_say(e, "migration %s: %s: %s", e->report.guest, mig_outcome_name(e->report.outcome),
		e->report.reason);
}

/* A query that got no definite answer: still in doubt; ask again later. */
static void doubt_no_answer(struct mig_engine *e, enum mig_answer answer, const char *why)
{
	struct mig_engine_doubt *d = &e->src.doubt;

	mig_close_conn(e, answer != MIG_ANSWER_NONE);
	mig_src_fini(&e->proto.src);
	d->querying = false;
	d->queries++;
	d->answer = answer;
	fmt_snprintf(d->why, sizeof(d->why), "%s", why);
	doubt_schedule(e);
	mig_say(e, "migration %s: still in doubt: %s", e->report.guest, why);
}

static void doubt_answered(struct mig_engine *e, unsigned answer)
{
	struct mig_engine_doubt *d = &e->src.doubt;

	if (answer == MIG_ANSWER_RAN || answer == MIG_ANSWER_NEVER_RAN) {
		d->queries++;
		d->answer = answer;
		fmt_snprintf(d->why, sizeof(d->why), "the destination answered %s",
			     mig_answer_name(answer));
		doubt_settle(e, answer == MIG_ANSWER_RAN, "asking the destination");
		return;
	}
	doubt_no_answer(e, MIG_ANSWER_UNKNOWN, "the destination has no record of this migration");
}

static void doubt_start_query(struct mig_engine *e)
{
	struct mig_engine_doubt *d = &e->src.doubt;
	uint8_t nonce[MIG_NONCE_BYTES];
	struct tcp_stream *conn = NULL;

	if (!e->env.connect) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "this host cannot ask the destination");
		return;
	}
	if (e->env.random(e->env.ctx, nonce, sizeof(nonce))) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "no entropy source for the handshake nonce");
		return;
	}
	if (e->env.connect(e->env.ctx, &conn)) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "cannot open a connection to the destination");
		return;
	}
	e->conn = conn;
	d->querying = true;
	d->query_start_ns = mig_now(e);
	if (mig_src_init(&e->proto.src, e->env.key, e->env.key_len, nonce))
		doubt_no_answer(e, MIG_ANSWER_NONE, e->proto.src.error);
}

/* Feeds what the destination said; false once the query has ended (answered or failed). */
static bool doubt_pump_in(struct mig_engine *e)
{
	for (int i = 0; i < MIG_READS_PER_STEP; i++) {
		long n = mig_read(e);
		size_t at = 0;
		if (n < 0) {
			doubt_no_answer(e, MIG_ANSWER_NONE, "the destination closed the connection");
			return false;
		}
		if (n == 0)
			return true;
		while (at < (size_t)n) {
			struct mig_src_event ev;
			size_t used;
			int rc = mig_src_input(&e->proto.src, e->rx + at, (size_t)n - at, &used, &ev);
			at += used;
			if (rc < 0 || (rc == 0 && used == 0)) {
				doubt_no_answer(e, MIG_ANSWER_NONE, e->proto.src.error[0]
						? e->proto.src.error : "the query broke the protocol");
				return false;
			}
			if (rc == 0)
				continue;
			if (ev.kind == MIG_SRC_EV_AUTHENTICATED) {
				mig_src_query(&e->proto.src, e->report.migration_id);
			} else if (ev.kind == MIG_SRC_EV_ANSWER) {
				doubt_answered(e, ev.answer);
				return false;
			} else {
				char why[MIG_TEXT_MAX + 1];
				fmt_snprintf(why, sizeof(why), "the destination refused the query: %s",
					     ev.text);
				doubt_no_answer(e, MIG_ANSWER_NONE, why);
				return false;
			}
		}
	}
	return true;
}

static void doubt_query_step(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;

	if (t->error(e->conn)) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "cannot reach the destination");
		return;
	}
	if (mig_handshake_overdue(e, e->src.doubt.query_start_ns)) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "the destination did not answer in time");
		return;
	}
	if (!t->connected(e->conn))
		return;
	if (mig_pump_out(e)) {
		doubt_no_answer(e, MIG_ANSWER_NONE, "connection to the destination lost");
		return;
	}
	if (doubt_pump_in(e) && mig_pump_out(e))
		doubt_no_answer(e, MIG_ANSWER_NONE, "connection to the destination lost");
}

void mig_doubt_step(struct mig_engine *e)
{
	if (e->src.doubt.querying)
		doubt_query_step(e);
	else if (mig_now(e) >= e->src.doubt.next_query_ns)
		doubt_start_query(e);
}

/* ---- the operator's side ------------------------------------------------------------------ */

static bool in_doubt(const struct mig_engine *e)
{
	return e->role == MIG_ROLE_SOURCE && e->phase == MIG_PHASE_IN_DOUBT && e->guest;
}

int mig_engine_resolve(struct mig_engine *e, bool dest_runs)
{
	enum mig_answer said = e->src.doubt.answer;

	if (e->role == MIG_ROLE_SOURCE && e->report.outcome == MIG_OUTCOME_MISMATCH)
		return mig_digest_src_resolve(e, dest_runs);   /* no question to ask: both ran */
	if (!in_doubt(e))
		return FERR_INVAL;
	if ((said == MIG_ANSWER_RAN && !dest_runs) || (said == MIG_ANSWER_NEVER_RAN && dest_runs))
		return FERR_BUSY;
	doubt_settle(e, dest_runs, "the operator");
	return 0;
}

long mig_engine_query_now(struct mig_engine *e)
{
	if (!in_doubt(e))
		return FERR_INVAL;
	if (e->src.doubt.querying) {
		/* A fresh question: the one under way may wait on a path that has since healed. */
		mig_close_conn(e, false);
		mig_src_fini(&e->proto.src);
		e->src.doubt.querying = false;
	}
	e->src.doubt.next_query_ns = mig_now(e);
	return e->src.doubt.queries;
}

uint32_t mig_engine_doubt(const struct mig_engine *e, enum mig_answer *answer, const char **why)
{
	if (answer)
		*answer = e->role == MIG_ROLE_SOURCE ? e->src.doubt.answer : MIG_ANSWER_NONE;
	if (why)
		*why = e->role == MIG_ROLE_SOURCE ? e->src.doubt.why : "";
	return e->role == MIG_ROLE_SOURCE ? e->src.doubt.queries : 0;
}
