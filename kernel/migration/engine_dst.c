/*
 * The destination role of the migration engine (engine.h): answer the handshake,
 * check the offer against this host (host ops), create the guest's shell, apply the
 * pages as they come (hashing each when the offer asks for a memory digest:
 * engine_digest.c), check the stream (and with verify=before the digest), load the
 * state, READY; on GO resume the guest, answer RESUMED, then broadcast RARP
 * announcements from its MAC (and with verify=after compare the source's digest and
 * answer its VERDICT). A source in doubt may instead ask about a migration (QUERY):
 * the answer comes from the env. Drives proto_dest.c with the guest, host and
 * transport ops of the env. Portable.
 *
 * Failure semantics (docs/migration.md):
 * - Until GO, any failure (dst_fail) discards the shell, which never ran, and tells
 *   the source with ABORT when it still can: the source resumes its copy. The shell
 *   is discarded through host_ops by its name and id, never by a pointer alone, so
 *   a guest made later in a freed slot is never named.
 * - On GO, a guest that cannot be started is still a guest that never ran here:
 *   ABORT, and the source resumes it.
 * - Once the guest was started here (dst.resumed), it is this host's: nothing
 *   discards it. The engine stops reading the source (bytes after GO are read and
 *   dropped, but verify=after's sums), a lost connection changes nothing, the announcements go out and the
 *   migration completes; what went wrong after the resume is in the report's
 *   reason. A source that sent GO and never heard RESUMED asks again (QUERY).
 * - Memory: until it accepts an offer the engine holds only its own small buffers;
 *   the working memory (env->buffers) comes with the ACCEPT, and when there is none
 *   the offer is refused (busy).
 * - verify=after: a digest that finds pages differing pauses the guest here
 *   (MIG_OUTCOME_MISMATCH) for the operator; a connection lost before it was compared
 *   leaves the guest running (digest not compared).
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/migration/rarp.h"

/* The role's step; mig_engine_step() runs it through e->role_step. */
static void role_dest_step(struct mig_engine *e);

/* The shell goes, if it never ran: by its name and id (host_ops), never once resumed. */
static void dst_discard(struct mig_engine *e)
{
	if (!e->guest || e->dst.resumed)
		return;
	mig_gops(e)->set_migrating(e->guest, false);
	int err = e->env.host_ops->discard_incoming(e->env.ctx, e->report.guest, e->dst.shell_id);
	if (err)
		mig_say(e, "incoming migration of %s: shell not discarded: %s", e->report.guest,
			err_name(err));
	e->guest = NULL;
	e->dst.ram = NULL;
}

/* A failure once the guest runs here: the connection goes, the guest stays; the report says why. */
static void dst_fail_after_resume(struct mig_engine *e, const char *why)
{
	if (!e->report.reason[0])
		fmt_snprintf(e->report.reason, sizeof(e->report.reason),
			     "after the resume (the guest runs here): %s", why);
	mig_close_conn(e, false);
}

/* Any failure before the guest runs here: ABORT (reason given) and the shell goes. */
static void dst_fail(struct mig_engine *e, int err, unsigned reason, const char *why)
{
	if (e->dst.resumed) {
		dst_fail_after_resume(e, why);
		return;
	}
	mig_set_reason(e, err, why);
	if (e->conn) {
		if (reason != MIG_REASON_NONE)
			mig_dst_abort(&e->proto.dst, reason, why);
		mig_pump_out(e);
	}
	mig_close_conn(e, true);
	dst_discard(e);
	mig_dst_fini(&e->proto.dst);
	mig_finish(e, MIG_OUTCOME_FAILED);
}

int mig_dest_start(struct mig_engine *e, const struct mig_env *env, struct tcp_stream *conn)
{
	uint8_t nonce[MIG_NONCE_BYTES];
	struct mig_dst_checks checks = {
		.memory_available = env->host_ops->memory_available,
		.name_free = env->host_ops->name_free,
		.ctx = env->ctx,
	};
	int err;

	mig_engine_begin(e, MIG_ROLE_DEST, env);
	e->role_step = role_dest_step;
	memset(&e->dst, 0, sizeof(e->dst));
	e->conn = conn;
	e->dst.last_precopy_ns = e->start_ns;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "(incoming)");
	env->host_ops->cpu_features(env->ctx, &checks.host_features);
	checks.host_vendor = env->host_ops->cpu_vendor(env->ctx);
	err = env->random(env->ctx, nonce, sizeof(nonce));
	mig_dst_init(&e->proto.dst, env->key, env->key ? env->key_len : 0, nonce, &checks);
	e->phase = MIG_PHASE_HANDSHAKE;
	e->report.outcome = MIG_OUTCOME_RUNNING;
	if (err) {
		dst_fail(e, err, MIG_REASON_INTERNAL, "no entropy source for the handshake nonce");
		return err;
	}
	if (!env->key || env->key_len == 0)
		mig_say(e, "incoming migration: refused, no migration_key in ferry.cfg");
	return 0;
}

/* ---- what the source sends ------------------------------------------------------------- */

/* The working memory for the stream, the reader moved onto it: false (offer refused) without. */
static bool dst_take_buffers(struct mig_engine *e)
{
	struct mig_dst_buffers *b = mig_get_buffers(e);

	if (!b)
		return false;
	e->dst.buffers = b;
	e->state_blob = b->state_blob;
	/* Input already read and not fed yet moves along with the reader. */
	size_t left = e->dst.rx_end - e->dst.rx_start;
	memmove(b->rx, e->rx + e->dst.rx_start, left);
	e->rx = b->rx;
	e->rx_cap = sizeof(b->rx);
	e->dst.rx_start = 0;
	e->dst.rx_end = left;
	return true;
}

static void dst_offer(struct mig_engine *e)
{
	const struct mig_offer *o = &e->proto.dst.offer;
	const char *why = "cannot create the guest shell";
	struct vm *guest = NULL;
	uint64_t id = 0;
	int err;

	e->kind = MIG_KIND_MIGRATION;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", o->name);
	e->report.migration_id = o->migration_id;
	e->report.ram_bytes = (uint64_t)o->memory_mib << MIB_SHIFT;
	e->report.dirty_mode = mig_dirty_mode_name(o->dirty_mode);
	e->report.verify = o->verify;
	e->report.hash = o->hash;
	e->dst.verify = o->verify;
	e->hash = o->hash;
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	if (!dst_take_buffers(e)) {
		const char *busy = "destination runs its maximum of incoming migrations";
		mig_dst_refuse(&e->proto.dst, MIG_REASON_BUSY, busy);
		dst_fail(e, FERR_BUSY, MIG_REASON_NONE, busy);
		return;
	}
	err = e->env.host_ops->create_incoming(e->env.ctx, o->name, o->memory_mib, o->mac, &guest,
					       &id, &why);
	if (err) {
		char text[MIG_TEXT_MAX + 1];
		fmt_snprintf(text, sizeof(text), "%s", why ? why : err_name(err));
		mig_dst_refuse(&e->proto.dst, err == FERR_NOMEM ? MIG_REASON_MEMORY
			       : err == FERR_EXIST ? MIG_REASON_NAME
			       : err == FERR_INVAL ? MIG_REASON_INVALID : MIG_REASON_INTERNAL, text);
		dst_fail(e, err, MIG_REASON_NONE, text);
		return;
	}
	e->guest = guest;
	e->dst.shell_id = id;
	e->dst.ram = mig_gops(e)->ram(guest);
	mig_gops(e)->set_migrating(guest, true);
	if (mig_dst_accept(&e->proto.dst, e->dst.buffers->stream, sizeof(e->dst.buffers->stream))) {
		dst_fail(e, FERR_BUSY, MIG_REASON_INTERNAL, "cannot accept the offer");
		return;
	}
	e->phase = MIG_PHASE_PRECOPY;
	e->round_start_ns = mig_now(e);
	mig_say(e, "incoming migration of %s (%u MiB): accepted", o->name, o->memory_mib);
}

static void dst_query(struct mig_engine *e, uint64_t id)
{
	unsigned answer = e->env.answer_query ? e->env.answer_query(e->env.ctx, id)
		: MIG_ANSWER_UNKNOWN;

	e->kind = MIG_KIND_QUERY;
	e->report.migration_id = id;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "(query)");
	mig_dst_answer(&e->proto.dst, answer);
	e->phase = MIG_PHASE_ANSWER;
	mig_say(e, "migration query about %016llx: answered %s", (unsigned long long)id,
		mig_answer_name(answer));
}

static void dst_page(struct mig_engine *e, uint32_t page_number, const uint8_t *data)
{
	uint8_t *page = e->dst.ram + ((uint64_t)page_number << MIG_PAGE_SHIFT);

	if (data)
		memcpy(page, data, MIG_PAGE_SIZE);
	else
		memset(page, 0, MIG_PAGE_SIZE);
	mig_digest_dst_page(e, page_number, data);
	e->report.pages++;
	e->round_zero += !data;
}

static void dst_round_end(struct mig_engine *e, const struct mig_round_end *r)
{
	mig_report_round(e, r);
	e->round_start_ns = mig_now(e);
	e->round_zero = 0;
	if (r->flags & MIG_ROUND_FINAL)
		e->phase = MIG_PHASE_STOP_COPY;
	else
		e->dst.last_precopy_ns = mig_now(e);
}

/* The stream checked out (DONE): the digest (verify=before), the state, READY. */
static void dst_verified(struct mig_engine *e)
{
	const char *why = "state refused";
	char text[MIG_TEXT_MAX + 1];
	int err;

	e->dst.done_ns = mig_now(e);
	if (e->dst.verify == MIG_VERIFY_BEFORE) {
		char pages[MIG_TEXT_MAX];
		if (e->report.digest_differing) {
			/* The guest never ran here: the source resumes its copy. */
			e->report.digest = MIG_DIGEST_MISMATCH;
			mig_digest_describe(&e->report, pages, sizeof(pages));
			fmt_snprintf(text, sizeof(text), "digest mismatch: %s", pages);
			dst_fail(e, FERR_PROTO, MIG_REASON_DIGEST, text);
			return;
		}
		e->report.digest = MIG_DIGEST_MATCH;
	}
	err = mig_gops(e)->state_load(e->guest, e->state_blob, e->state_len, &why);
	if (err) {
		fmt_snprintf(text, sizeof(text), "guest state refused: %s", why ? why : err_name(err));
		dst_fail(e, err, MIG_REASON_STATE, text);
		return;
	}
	mig_dst_ready(&e->proto.dst);
	e->dst.loaded_ns = mig_now(e);
	e->report.dest_load_ns = e->dst.loaded_ns - e->dst.done_ns;
	e->phase = MIG_PHASE_SWITCHOVER;
}

/* verify=after, every sum compared: the verdict goes back; a difference pauses the guest. */
static void dst_verdict(struct mig_engine *e)
{
	struct mig_report *r = &e->report;
	char pages[MIG_TEXT_MAX];

	mig_dst_verdict(&e->proto.dst, r->digest_differing, r->digest_named, r->digest_pages);
	e->dst.verdict_done = true;
	if (!r->digest_differing) {
		r->digest = MIG_DIGEST_MATCH;
		mig_gops(e)->set_migrating(e->guest, false);
		return;
	}
	r->digest = MIG_DIGEST_MISMATCH;
	mig_gops(e)->pause(e->guest);
	mig_gops(e)->set_migrating(e->guest, false);
	mig_digest_describe(r, pages, sizeof(pages));
	mig_set_reason(e, FERR_PROTO, "digest mismatch after the switchover");
	mig_say(e, "incoming migration of %s: digest mismatch after the switchover: %s; guest paused here",
		r->guest, pages);
}

/* verify=after: the connection ended before every sum came; the guest runs on. */
static void dst_verdict_lost(struct mig_engine *e)
{
	if (e->dst.verify != MIG_VERIFY_AFTER || e->dst.verdict_done)
		return;
	e->dst.verdict_done = true;
	e->report.digest = MIG_DIGEST_NOT_COMPARED;
	mig_gops(e)->set_migrating(e->guest, false);
	mig_say(e, "incoming migration of %s: digest not compared (connection lost)", e->report.guest);
}

/*
 * How long the guest stood between the source's save of its state and its load here, by
 * two clocks that are never compared: the source's save-to-GO time, plus GO's one-way trip
 * (half the READY-to-GO round trip, READY having gone with the load), less what passed
 * here from the load to GO: the save-to-GO time less half that round trip. The source's
 * figure is its word: the save came after this migration began here, so no more than that
 * is believed (a wrong figure moves only this guest's clock, within that bound).
 */
static uint64_t dst_missed_ns(struct mig_engine *e, uint64_t since_save_ns)
{
	uint64_t now = mig_now(e);
	uint64_t lasted = now - e->start_ns;
	uint64_t believed = since_save_ns < lasted ? since_save_ns : lasted;
	uint64_t half_round_trip = (now - e->dst.loaded_ns) / 2;

	return believed > half_round_trip ? believed - half_round_trip : 0;
}

static void dst_go(struct mig_engine *e, uint64_t since_save_ns)
{
	if (e->cancel_requested) {
		/* Settled by a query (or an operator) before GO was read: it never runs here. */
		dst_fail(e, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	/* The guest's clock counts the pause on both hosts, and the trip between them. */
	e->report.clock_advance_ns = dst_missed_ns(e, since_save_ns);
	if (mig_gops(e)->clock_advance)
		mig_gops(e)->clock_advance(e->guest, e->report.clock_advance_ns);
	int err = mig_gops(e)->resume(e->guest);
	if (err) {
		/* It never ran here: ABORT tells the source to resume its paused copy. */
		dst_fail(e, err, MIG_REASON_INTERNAL, "the guest could not be started on the destination");
		return;
	}
	e->dst.resumed = true;
	e->dst.resume_ns = mig_now(e);
	e->report.downtime_dst_ns = e->dst.resume_ns - e->dst.last_precopy_ns;
	/* verify=after: still migrating (no pause, no destroy) until the verdict. */
	if (e->dst.verify != MIG_VERIFY_AFTER)
		mig_gops(e)->set_migrating(e->guest, false);
	mig_dst_resumed(&e->proto.dst, e->report.downtime_dst_ns, e->report.dest_load_ns);
	e->destination_running = true;
	e->phase = MIG_PHASE_ANNOUNCE;
	e->dst.announce_next = 0;
	mig_say(e, "incoming migration of %s: running here", e->report.guest);
}

static void dst_event(struct mig_engine *e, const struct mig_dst_event *ev)
{
	char why[MIG_REPORT_REASON_MAX + 1];

	switch (ev->kind) {
	case MIG_DST_EV_AUTHENTICATED:
		e->authenticated = true;
		break;
	case MIG_DST_EV_OFFER:
		dst_offer(e);
		break;
	case MIG_DST_EV_QUERY:
		dst_query(e, ev->migration_id);
		break;
	case MIG_DST_EV_PAGE:
		dst_page(e, ev->page, ev->data);
		break;
	case MIG_DST_EV_ROUND_END:
		dst_round_end(e, &ev->round);
		break;
	case MIG_DST_EV_STATE:
		memcpy(e->state_blob, ev->state, ev->state_len);
		e->state_len = ev->state_len;
		break;
	case MIG_DST_EV_VERIFIED:
		dst_verified(e);
		break;
	case MIG_DST_EV_GO:
		dst_go(e, ev->go_since_save_ns);
		break;
	case MIG_DST_EV_DIGEST:
		mig_digest_dst_sums(e, &ev->digest);
		if (e->dst.verify == MIG_VERIFY_AFTER && mig_dst_digest_complete(&e->proto.dst))
			dst_verdict(e);
		break;
	case MIG_DST_EV_ABORTED:
		fmt_snprintf(why, sizeof(why), "source aborted (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		dst_fail(e, FERR_PROTO, MIG_REASON_NONE, why);
		break;
	case MIG_DST_EV_REFUSED:
		fmt_snprintf(why, sizeof(why), "refused (%s): %s", mig_reason_name(ev->reason), ev->text);
		dst_fail(e, FERR_BUSY, MIG_REASON_NONE, why);
		break;
	}
}

/* verify=after, the guest running here: the source's sums are still to come. */
static bool dst_awaits_sums(const struct mig_engine *e)
{
	return e->phase == MIG_PHASE_ANNOUNCE && e->conn && e->dst.verify == MIG_VERIFY_AFTER &&
	       !e->dst.verdict_done;
}

/*
 * True while the engine reads the source: not once the guest runs here (but for
 * verify=after's sums) or a query is answered.
 */
static bool dst_reading(const struct mig_engine *e)
{
	return e->phase != MIG_PHASE_FINISHED && e->phase != MIG_PHASE_ANSWER &&
	       (e->phase != MIG_PHASE_ANNOUNCE || dst_awaits_sums(e));
}

/*
 * Reads and feeds input to the protocol; 0 or the transport's error. Each feed
 * takes bytes, gives an event or fails: a feed that does neither is a Ferry bug
 * (the machine waits for an answer the engine always gives at once) and fails the
 * migration rather than spin.
 */
static int dst_pump_in(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	int reads = 0;

	while (dst_reading(e)) {
		struct mig_dst_event ev;
		size_t used;
		int rc;

		if (e->dst.rx_start == e->dst.rx_end) {
			if (reads++ == MIG_READS_PER_STEP)
				return 0;
			long n = mig_read(e);
			if (n < 0)
				return (int)n;
			e->dst.rx_start = 0;
			e->dst.rx_end = (size_t)n;
		}
		rc = mig_dst_input(&e->proto.dst, e->rx + e->dst.rx_start,
				   e->dst.rx_end - e->dst.rx_start, &used, &ev);
		e->dst.rx_start += used;
		mig_note_messages(e, e->proto.dst.reader.messages);
		if (rc < 0) {
			/* Once resumed here, only the connection goes (dst_fail_after_resume). */
			dst_fail(e, rc, MIG_REASON_NONE, e->proto.dst.error);
			return 0;
		}
		if (rc == 1) {
			dst_event(e, &ev);
			continue;
		}
		if (used == 0 && e->dst.rx_start != e->dst.rx_end) {
			dst_fail(e, FERR_PROTO, MIG_REASON_INTERNAL,
				 "the protocol took no bytes (a Ferry bug)");
			return 0;
		}
		if (e->dst.rx_start == e->dst.rx_end && t->readable && t->readable(e->conn) == 0)
			return 0;
	}
	return 0;
}

/*
 * After GO the source has nothing more to say: what it (or anyone on the path)
 * still sends is read and dropped, counted for the report, and changes nothing.
 */
static void dst_drop_input(struct mig_engine *e)
{
	uint64_t dropped = e->dst.rx_end - e->dst.rx_start;

	e->dst.rx_start = e->dst.rx_end = 0;
	for (int i = 0; e->conn && i < MIG_READS_PER_STEP; i++) {
		long n = mig_read(e);
		if (n <= 0)
			break;
		dropped += (uint64_t)n;
	}
	if (dropped && !e->dst.ignored_bytes)
		mig_say(e, "incoming migration of %s: bytes from the source after GO ignored",
			e->report.guest);
	e->dst.ignored_bytes += dropped;
}

/* ---- after the resume, or the answer ---------------------------------------------------- */

static void dst_announce(struct mig_engine *e)
{
	uint8_t frame[RARP_FRAME_BYTES];
	const uint8_t *mac = e->proto.dst.offer.mac;

	while (e->dst.announce_next < RARP_ANNOUNCE_COUNT &&
	       mig_now(e) - e->dst.resume_ns >=
		       (uint64_t)rarp_announce_ms[e->dst.announce_next] * NS_PER_MS) {
		if (e->env.send_raw_frame) {
			size_t len = rarp_build_announce(frame, mac);
			e->env.send_raw_frame(e->env.ctx, frame, len);
		}
		e->dst.announce_next++;
	}
	if (!e->conn)
		dst_verdict_lost(e);
	bool verified = e->dst.verify != MIG_VERIFY_AFTER || e->dst.verdict_done;
	if (e->dst.announce_next == RARP_ANNOUNCE_COUNT && verified &&
	    (!e->conn || mig_output_drained(e))) {
		if (e->dst.ignored_bytes && !e->report.reason[0])
			fmt_snprintf(e->report.reason, sizeof(e->report.reason),
				     "after the resume: %llu bytes from the source after GO ignored",
				     (unsigned long long)e->dst.ignored_bytes);
		mig_close_conn(e, true);
		mig_dst_fini(&e->proto.dst);
		mig_finish(e, e->report.digest == MIG_DIGEST_MISMATCH ? MIG_OUTCOME_MISMATCH
								       : MIG_OUTCOME_COMPLETED);
	}
}

/*
 * The guest runs here now: keep sending RESUMED, drop input (with verify=after, read
 * the source's sums until the verdict), announce; nothing undoes it. The source
 * closes the connection once it has RESUMED (or the verdict): only a connection lost
 * before RESUMED was written out is worth a word in the report.
 */
static void dst_after_resume_step(struct mig_engine *e)
{
	if (dst_awaits_sums(e)) {
		if (dst_pump_in(e))
			dst_fail_after_resume(e, "connection to the source lost before the digest's sums");
		else if (dst_awaits_sums(e) && mig_reply_overdue(e, e->last_rx_ns))
			dst_fail_after_resume(e, "the source's digest did not come in time");
	}
	if (e->conn) {
		if (!dst_awaits_sums(e))
			dst_drop_input(e);
		int err = e->env.transport_ops->error(e->conn);
		if (!err)
			err = mig_pump_out(e);
		if (err && !mig_output_drained(e))
			dst_fail_after_resume(e, "connection to the source lost before RESUMED was sent");
		else if (err)
			mig_close_conn(e, false);
	}
	dst_announce(e);
}

/* A query answered: send the answer, then close; no history, no guest. */
static void dst_answer_step(struct mig_engine *e)
{
	int err = mig_pump_out(e);

	if (!err && !mig_output_drained(e) && !mig_reply_overdue(e, e->last_rx_ns))
		return;
	mig_close_conn(e, !err);
	mig_dst_fini(&e->proto.dst);
	e->report.outcome = MIG_OUTCOME_COMPLETED;
	e->phase = MIG_PHASE_FINISHED;
}

enum mig_answer mig_engine_settle(struct mig_engine *e)
{
	if (e->role != MIG_ROLE_DEST || e->kind != MIG_KIND_MIGRATION)
		return MIG_ANSWER_UNKNOWN;
	if (e->dst.resumed)
		return MIG_ANSWER_RAN;
	if (e->phase != MIG_PHASE_FINISHED && !e->cancel_requested) {
		/* Checked before the next step reads GO: this guest will never start here. */
		e->cancel_requested = true;
		fmt_snprintf(e->cancel_reason, sizeof(e->cancel_reason),
			     "the source asked about it (in doubt): never run here");
	}
	return MIG_ANSWER_NEVER_RAN;
}

/* ---- the step ---------------------------------------------------------------------------- */

static void role_dest_step(struct mig_engine *e)
{
	int err;

	if (e->phase == MIG_PHASE_ANNOUNCE) {
		dst_after_resume_step(e);
		return;
	}
	if (e->phase == MIG_PHASE_ANSWER) {
		dst_answer_step(e);
		return;
	}
	if (e->cancel_requested) {
		dst_fail(e, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	err = dst_pump_in(e);
	if (e->phase == MIG_PHASE_FINISHED)
		return;
	if (!err && e->conn)
		err = mig_pump_out(e);   /* RESUMED or ANSWER without waiting for the next step */
	if (err) {
		dst_fail(e, err, MIG_REASON_NONE, mig_transport_why(e, "connection to the source lost"));
		return;
	}
	if (e->phase == MIG_PHASE_ANNOUNCE || e->phase == MIG_PHASE_ANSWER)
		return;
	if (!e->authenticated && mig_handshake_overdue(e, e->start_ns))
		dst_fail(e, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			 "the source did not prove the key in time (handshake deadline)");
	else if (mig_reply_overdue(e, e->last_rx_ns))
		dst_fail(e, FERR_TIMEOUT, MIG_REASON_TIMEOUT, "source stopped sending");
}
