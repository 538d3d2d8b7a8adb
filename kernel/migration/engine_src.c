/*
 * The source role of the migration engine (engine.h): connect, authenticate and
 * offer; pre-copy, stop-and-copy and their estimates (engine_precopy.c); the
 * switchover; with verify=after the digest of the frozen copy and the destination's
 * verdict (engine_digest.c); then the guest is destroyed here. Drives proto_src.c
 * with the guest and transport ops of the env. Portable.
 *
 * Failure semantics (docs/migration.md):
 * - Before GO is sent, any failure (mig_src_fail) tells the destination with ABORT
 *   when it still can, stops the dirty logging and the throttle and resumes the guest
 *   here, its RAM intact: the destination discards its shell.
 * - After GO the source never resumes on its own: RESUMED completes the migration
 *   (mig_src_complete frees the guest), and an ABORT, which the destination sends only
 *   when it never ran the guest, resumes it here.
 * - After GO, a timeout or a lost connection leaves the outcome IN_DOUBT
 *   (mig_src_in_doubt, engine_doubt.c): the guest stays paused and migrating, since
 *   it may run on the destination already, until the destination's answer to a
 *   QUERY or an operator's word (mig_engine_resolve) settles it.
 * - Bounds: the handshake (connected to the destination's verified AUTH) has
 *   handshake_timeout_ms; the guest never stays paused before GO longer than
 *   max(max_paused_ms, 2 x the downtime target): then it resumes here, as for any
 *   failure before GO, however slowly the destination still takes the stream.
 * - verify=after: after RESUMED the source keeps its paused copy until the verdict. A
 *   match completes; a mismatch (MIG_OUTCOME_MISMATCH) keeps the copy paused and
 *   migrating, as in doubt, for the operator; a connection lost before the verdict
 *   completes the migration with the digest not compared (the destination runs it).
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

/* The role's step; mig_engine_step() runs it through e->role_step. */
static void role_source_step(struct mig_engine *e);

/* The migration's own connection is over: finished, or in doubt (asking on others). */
static bool src_over(const struct mig_engine *e)
{
	return e->phase == MIG_PHASE_FINISHED || e->phase == MIG_PHASE_IN_DOUBT;
}

/* ---- failing, before and after GO ---------------------------------------------------- */

void mig_src_restore_guest(struct mig_engine *e)
{
	if (e->src.dirty_logging) {
		mig_gops(e)->dirty_stop(e->guest);
		e->src.dirty_logging = false;
	}
	if (e->src.throttle) {
		mig_gops(e)->set_throttle(e->guest, 0);
		e->src.throttle = 0;
	}
	if (e->src.paused_by_us) {
		mig_gops(e)->resume(e->guest);
		e->src.paused_by_us = false;
		/* The guest stood still all the same: a rollback's downtime is its pause here. */
		e->report.downtime_src_ns = mig_now(e) - e->src.pause_ns;
	}
	mig_gops(e)->set_migrating(e->guest, false);
}

/* GO: from here the guest is the destination's; it learns how long ago its state was taken. */
static int src_go(struct mig_engine *e)
{
	return mig_src_go(&e->proto.src, mig_now(e) - e->src.state_saved_ns);
}

/* The destination runs the guest: the copy here goes, its dirty logging with it. */
void mig_src_drop_guest(struct mig_engine *e)
{
	e->src.dirty_logging = false;
	mig_gops(e)->set_migrating(e->guest, false);
	mig_gops(e)->destroy(e->guest);
	e->guest = NULL;
}

void mig_src_fail(struct mig_engine *e, enum mig_outcome outcome, int err, unsigned reason,
		  const char *why)
{
	mig_set_reason(e, err, why);
	if (e->conn && mig_src_abort(&e->proto.src, reason, why) == 0)
		mig_pump_out(e);
	mig_close_conn(e, true);
	mig_src_restore_guest(e);
	mig_src_fini(&e->proto.src);
	mig_finish(e, outcome);
}

/* The guest runs on the destination, and the digest (if any) is settled or cannot be. */
void mig_src_complete(struct mig_engine *e)
{
	mig_close_conn(e, true);
	mig_src_drop_guest(e);
	mig_src_fini(&e->proto.src);
	mig_set_reason(e, 0, "");
	mig_finish(e, MIG_OUTCOME_COMPLETED);
}

static void src_connection_lost(struct mig_engine *e, int err)
{
	if (e->destination_running) {
		/* verify=after, before the verdict: the destination runs the guest all the same. */
		if (e->params.verify == MIG_VERIFY_AFTER && e->report.digest == MIG_DIGEST_NONE) {
			e->report.digest = MIG_DIGEST_NOT_COMPARED;
			mig_say(e, "migration %s: connection lost before the digest's verdict",
				e->report.guest);
		}
		mig_src_complete(e);
	} else if (e->go_sent) {
		mig_src_in_doubt(e, err, "connection lost after GO");
	} else {
		mig_src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
			     mig_transport_why(e, "connection to the destination lost"));
	}
}

/* ---- the start and the handshake ------------------------------------------------------ */

/* mig_source_start() refusing: nothing was changed and conn stays the caller's. */
static int src_refuse_start(struct mig_engine *e, int err, const char *why)
{
	mig_set_reason(e, err, why);
	e->phase = MIG_PHASE_FINISHED;
	e->report.outcome = MIG_OUTCOME_FAILED;
	return err;
}

int mig_source_start(struct mig_engine *e, const struct mig_env *env,
		     const struct mig_params *params, struct vm *guest, struct tcp_stream *conn)
{
	uint8_t nonce[MIG_NONCE_BYTES];
	int err;

	mig_engine_begin(e, MIG_ROLE_SOURCE, env);
	e->role_step = role_source_step;
	memset(&e->src, 0, sizeof(e->src));
	if (params)
		e->params = *params;
	if (!e->params.downtime_ms)
		e->params.downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
	e->guest = guest;
	e->src.last_progress_ns = e->start_ns;
	mig_link_init(&e->src.link);
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", mig_gops(e)->name(guest));
	e->report.ram_bytes = mig_gops(e)->ram_bytes(guest);
	e->report.downtime_target_ms = e->params.downtime_ms;
	e->report.bandwidth_limit_mbps = e->params.bandwidth_mbps;
	e->report.dirty_mode = mig_gops(e)->dirty_mode(guest);
	e->report.verify = e->params.verify;
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	if (!env->key || env->key_len == 0)
		return src_refuse_start(e, FERR_AUTH, "no migration_key in ferry.cfg: migration refused");
	if (e->pages == 0 || e->pages > MIG_MAX_PAGES || e->report.ram_bytes % MIB)
		return src_refuse_start(e, FERR_RANGE, "guest memory size cannot be migrated");
	if (e->params.verify >= MIG_VERIFY_MODES)
		return src_refuse_start(e, FERR_INVAL, "unknown verify mode");
	if (!env->buffers)
		return src_refuse_start(e, FERR_INVAL, "no working memory for the migration");
	err = env->random(env->ctx, nonce, sizeof(nonce));
	if (!err)
		err = env->random(env->ctx, &e->report.migration_id, sizeof(e->report.migration_id));
	if (err)
		return src_refuse_start(e, err, "no entropy source for the handshake nonce");
	err = mig_src_init(&e->proto.src, env->key, env->key_len, nonce);
	if (err)
		return src_refuse_start(e, err, e->proto.src.error);
	e->src.buffers = mig_get_buffers(e);
	if (!e->src.buffers)
		return src_refuse_start(e, FERR_NOMEM, "no memory for the migration's buffers");
	e->src.send_map = e->src.buffers->send_map;
	e->src.dirty_map = e->src.buffers->dirty_map;
	e->state_blob = e->src.buffers->state_blob;
	e->conn = conn;
	mig_gops(e)->set_migrating(guest, true);
	e->phase = MIG_PHASE_CONNECTING;
	e->report.outcome = MIG_OUTCOME_RUNNING;
	mig_say(e, "migration %s: connecting", e->report.guest);
	return 0;
}

static void src_send_offer(struct mig_engine *e)
{
	struct mig_offer offer = {
		.migration_id = e->report.migration_id,
		.memory_mib = (uint32_t)(e->report.ram_bytes >> MIB_SHIFT),
		.page_size = MIG_PAGE_SIZE,
		.dirty_mode = (uint8_t)mig_dirty_mode_code(mig_gops(e)->dirty_mode(e->guest)),
		.vendor = (uint8_t)mig_gops(e)->cpu_vendor(e->guest),
		.features = *mig_gops(e)->cpu_features(e->guest),
		.verify = e->params.verify,
		.hash = e->hash,
	};

	fmt_snprintf(offer.name, sizeof(offer.name), "%s", e->report.guest);
	memcpy(offer.mac, mig_gops(e)->mac(e->guest), MIG_MAC_BYTES);
	if (mig_src_offer(&e->proto.src, &offer, e->src.buffers->stream,
			  sizeof(e->src.buffers->stream)))
		mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_INVAL, MIG_REASON_INTERNAL,
			     "cannot build the offer");
}

/* ---- the link ------------------------------------------------------------------------------ */

uint64_t mig_src_queued(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	const uint8_t *data;
	uint64_t in_transport = t->unacked && e->conn ? t->unacked(e->conn) : 0;

	return in_transport + mig_src_pending(&e->proto.src, &data);
}

uint64_t mig_src_taken(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	uint64_t q = t->unacked && e->conn ? t->unacked(e->conn) : 0;

	return e->tx_bytes > q ? e->tx_bytes - q : 0;
}

/*
 * The handshake's two exchanges are the round trip's samples: HELLO written to its
 * answer handled, then AUTH written (in that same step) to the destination's AUTH.
 */
static void src_note_handshake(struct mig_engine *e, bool authenticated)
{
	struct mig_engine_src *s = &e->src;
	uint64_t now = mig_now(e);

	if (s->hello_sent_ns && !s->auth_sent_ns && e->proto.src.state != MIG_SRC_WAIT_HELLO) {
		mig_link_rtt_sample(&s->link, now - s->hello_sent_ns);
		s->auth_sent_ns = now;
	}
	if (authenticated && s->auth_sent_ns)
		mig_link_rtt_sample(&s->link, now - s->auth_sent_ns);
	e->report.rtt_ns = s->link.rtt_ns;
}

/* ---- what the destination says --------------------------------------------------------- */

static void src_event(struct mig_engine *e, const struct mig_src_event *ev)
{
	char why[MIG_REPORT_REASON_MAX + 1];

	switch (ev->kind) {
	case MIG_SRC_EV_AUTHENTICATED:
		e->authenticated = true;
		src_note_handshake(e, true);
		mig_digest_src_choose(e);
		src_send_offer(e);
		break;
	case MIG_SRC_EV_ACCEPTED:
		mig_src_start_precopy(e);
		break;
	case MIG_SRC_EV_REFUSED:
		fmt_snprintf(why, sizeof(why), "destination refused (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_BUSY, MIG_REASON_NONE, why);
		break;
	case MIG_SRC_EV_READY:
		e->report.pause_ready_ns = mig_now(e) - e->src.pause_ns;
		/* verify=before: READY says the destination's memory matched ours. */
		if (e->params.verify == MIG_VERIFY_BEFORE)
			e->report.digest = MIG_DIGEST_MATCH;
		/* From here the guest is handed over: the source never resumes it on its own. */
		if (src_go(e) == 0)
			e->go_sent = true;
		break;
	case MIG_SRC_EV_RESUMED:
		e->report.downtime_src_ns = mig_now(e) - e->src.pause_ns;
		e->report.downtime_dst_ns = ev->dest_downtime_ns;
		e->report.dest_load_ns = ev->dest_load_ns;
		e->report.floor_ns = mig_link_transfer_ns(&e->src.link, e->report.final_bytes) +
				     e->report.rtt_ns + ev->dest_load_ns;
		e->destination_running = true;
		if (e->params.verify == MIG_VERIFY_AFTER) {
			e->phase = MIG_PHASE_VERIFY;
			e->last_rx_ns = mig_now(e);
			mig_digest_src_begin(e);
		}
		break;
	case MIG_SRC_EV_VERDICT:
		mig_digest_src_verdict(e, &ev->verdict);
		break;
	case MIG_SRC_EV_ANSWER:
		break;   /* a migration never queries (engine_doubt.c does, on its own connection) */
	case MIG_SRC_EV_ABORTED:
		/* Before or after GO, the destination never ran the guest when it aborts. */
		fmt_snprintf(why, sizeof(why), "destination aborted (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		if (ev->reason == MIG_REASON_DIGEST)
			e->report.digest = MIG_DIGEST_MISMATCH;
		e->go_sent = false;
		mig_src_fail(e, ev->reason == MIG_REASON_CANCELLED ? MIG_OUTCOME_CANCELLED
			     : MIG_OUTCOME_FAILED, FERR_PROTO, MIG_REASON_NONE, why);
		break;
	}
}

/* Feeds the destination's bytes to the protocol; 0, or the transport's error. */
static int src_pump_in(struct mig_engine *e)
{
	for (int i = 0; i < MIG_READS_PER_STEP && !src_over(e); i++) {
		long n = mig_read(e);
		size_t at = 0;
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		while (at < (size_t)n && !src_over(e)) {
			struct mig_src_event ev;
			size_t used;
			int rc = mig_src_input(&e->proto.src, e->rx + at, (size_t)n - at, &used, &ev);
			at += used;
			mig_note_messages(e, e->proto.src.reader.messages);
			if (rc == 0 && used == 0)
				rc = FERR_PROTO;   /* no progress: mig_src_input's contract broken */
			if (rc < 0) {
				const char *why = e->proto.src.error[0] ? e->proto.src.error
					: "the protocol took no bytes (a Ferry bug)";
				if (e->destination_running)
					src_connection_lost(e, rc);
				else if (e->go_sent)
					mig_src_in_doubt(e, rc, why);
				else
					mig_src_fail(e, MIG_OUTCOME_FAILED, rc, MIG_REASON_PROTOCOL, why);
				return 0;
			}
			if (e->phase == MIG_PHASE_HANDSHAKE)
				src_note_handshake(e, false);
			if (rc == 1)
				src_event(e, &ev);
			/* Running there: nothing more to read, unless a verdict is awaited. */
			if (e->destination_running && e->phase != MIG_PHASE_VERIFY)
				return 0;
		}
	}
	return 0;
}

/* ---- the step ---------------------------------------------------------------------------- */

/* CONNECTING: true once the connection stands (the handshake then begins). */
static bool src_connected(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	int err = t->error(e->conn);

	if (err) {
		mig_src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
			     mig_transport_why(e, "no migration listener at the destination"));
		return false;
	}
	if (!t->connected(e->conn)) {
		if (mig_now(e) - e->start_ns > (uint64_t)e->params.connect_timeout_ms * NS_PER_MS)
			mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_NONE,
				     "destination did not answer the connection");
		return false;
	}
	e->phase = MIG_PHASE_HANDSHAKE;
	e->last_rx_ns = e->src.connected_ns = mig_now(e);
	e->src.hello_sent_ns = mig_now(e);   /* HELLO goes out in this step */
	return true;
}

/* The longest the guest may stay paused before GO: then it resumes here. */
static uint64_t src_pause_cap_ns(const struct mig_engine *e)
{
	uint64_t cap_ms = e->params.max_paused_ms;
	uint64_t floor_ms = (uint64_t)e->params.downtime_ms * MIG_PAUSED_PER_TARGET;

	return (cap_ms > floor_ms ? cap_ms : floor_ms) * NS_PER_MS;
}

/*
 * A destination silent too long: before GO the guest stays here, after GO it is in
 * doubt. A destination that is slow, or takes the stream a byte at a time, is bounded
 * too: by the handshake deadline, the pause cap and pre-copy's max_time.
 */
static void src_check_silence(struct mig_engine *e)
{
	uint64_t last_io_ns = e->last_tx_ns > e->last_rx_ns ? e->last_tx_ns : e->last_rx_ns;

	if (e->phase == MIG_PHASE_HANDSHAKE && !e->authenticated &&
	    mig_handshake_overdue(e, e->src.connected_ns)) {
		mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			     "destination did not prove the key in time (handshake deadline)");
		return;
	}
	if (e->src.paused_by_us && !e->go_sent && mig_now(e) - e->src.pause_ns > src_pause_cap_ns(e)) {
		char why[MIG_TEXT_MAX + 1];
		fmt_snprintf(why, sizeof(why), "guest paused %llu ms without the destination's READY: "
			     "resumed here", (unsigned long long)(src_pause_cap_ns(e) / NS_PER_MS));
		mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT, why);
		return;
	}
	if ((e->phase == MIG_PHASE_PRECOPY || e->phase == MIG_PHASE_STOP_COPY) &&
	    mig_reply_overdue(e, last_io_ns)) {
		mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			     "destination stopped reading the stream");
		return;
	}
	if (e->phase == MIG_PHASE_VERIFY && mig_reply_overdue(e, last_io_ns)) {
		src_connection_lost(e, FERR_TIMEOUT);
		return;
	}
	if (mig_reply_overdue(e, e->last_rx_ns) &&
	    (e->phase == MIG_PHASE_HANDSHAKE || e->phase == MIG_PHASE_SWITCHOVER)) {
		if (e->go_sent)
			mig_src_in_doubt(e, FERR_TIMEOUT, "no RESUMED from the destination after GO");
		else
			mig_src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
				     "destination stopped answering");
	}
}

static void role_source_step(struct mig_engine *e)
{
	int err;

	if (e->phase == MIG_PHASE_IN_DOUBT) {
		mig_doubt_step(e);
		return;
	}
	if (e->cancel_requested && !e->go_sent) {
		mig_src_fail(e, MIG_OUTCOME_CANCELLED, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	if (e->phase == MIG_PHASE_CONNECTING && !src_connected(e))
		return;

	err = src_pump_in(e);
	if (src_over(e))
		return;
	if (e->destination_running && e->phase != MIG_PHASE_VERIFY) {
		mig_src_complete(e);
		return;
	}
	if (!err)
		err = mig_pump_out(e);
	if (err) {
		src_connection_lost(e, err);
		return;
	}

	switch (e->phase) {
	case MIG_PHASE_PRECOPY:
		mig_src_precopy_step(e);
		break;
	case MIG_PHASE_STOP_COPY:
		mig_src_stop_copy_step(e);
		break;
	case MIG_PHASE_SWITCHOVER:
		/* The peer has taken every byte up to DONE (looked at once a step, while READY is awaited). */
		if (!e->report.pause_acked_ns && !e->go_sent && mig_src_queued(e) == 0)
			e->report.pause_acked_ns = mig_now(e) - e->src.pause_ns;
		/* READY came while GO did not fit in the output yet. */
		if (e->proto.src.state == MIG_SRC_READY && src_go(e) == 0)
			e->go_sent = true;
		break;
	case MIG_PHASE_VERIFY:
		mig_digest_src_step(e);
		break;
	default:
		break;
	}
	if (src_over(e))
		return;
	err = mig_pump_out(e);
	if (err) {
		src_connection_lost(e, err);
		return;
	}
	mig_src_sample_link(e);
	src_check_silence(e);
}
