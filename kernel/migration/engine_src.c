/*
 * The source role of the migration engine (engine.h): connect, authenticate and
 * offer; pre-copy rounds (round 0 all of RAM, then the pages found dirty) paced by
 * the bandwidth limit, with auto-converge; stop-and-copy once the last dirty set and
 * the state fit the downtime target at the measured bandwidth; the switchover; then
 * the guest is destroyed here. Drives proto_src.c with the guest and transport ops
 * of the env. Portable.
 *
 * Failure semantics (docs/migration.md):
 * - Before GO is sent, any failure (src_fail) tells the destination with ABORT when
 *   it still can, stops the dirty logging and the throttle and resumes the guest
 *   here, its RAM intact: the destination discards its shell.
 * - After GO the source never resumes on its own: RESUMED completes the migration
 *   (src_complete frees the guest), and an ABORT, which the destination sends only
 *   when it never ran the guest, resumes it here.
 * - After GO, a timeout or a lost connection leaves the outcome IN_DOUBT
 *   (mig_src_in_doubt, engine_doubt.c): the guest stays paused and migrating, since
 *   it may run on the destination already, until the destination's answer to a
 *   QUERY or an operator's word (mig_engine_resolve) settles it.
 * - Bounds: the handshake (connected to the destination's verified AUTH) has
 *   handshake_timeout_ms; the guest never stays paused before GO longer than
 *   max(max_paused_ms, 2 x the downtime target): then it resumes here, as for any
 *   failure before GO, however slowly the destination still takes the stream.
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

/* The role's step; mig_engine_step() runs it through e->role_step. */
static void role_source_step(struct mig_engine *e);

/*
 * Pages queued per step: one batch. A step must stay short (the console and the NIC
 * share the poller loop); under Bochs, copying and tagging 128 KiB takes milliseconds.
 */
#define PAGES_PER_STEP MIG_BATCH_MAX_PAGES
#define PROGRESS_INTERVAL_NS NS_PER_S

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
	}
	mig_gops(e)->set_migrating(e->guest, false);
}

/* The destination runs the guest: the copy here goes, its dirty logging with it. */
void mig_src_drop_guest(struct mig_engine *e)
{
	e->src.dirty_logging = false;
	mig_gops(e)->set_migrating(e->guest, false);
	mig_gops(e)->destroy(e->guest);
	e->guest = NULL;
}

/* A failure before GO: tell the peer (best effort), resume the guest here. */
static void src_fail(struct mig_engine *e, enum mig_outcome outcome, int err, unsigned reason,
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

static void src_connection_lost(struct mig_engine *e, int err)
{
	if (e->go_sent)
		mig_src_in_doubt(e, err, "connection lost after GO");
	else
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
			 mig_transport_why(e, "connection to the destination lost"));
}

static void src_complete(struct mig_engine *e)
{
	mig_close_conn(e, true);
	mig_src_drop_guest(e);
	mig_src_fini(&e->proto.src);
	mig_set_reason(e, 0, "");
	mig_finish(e, MIG_OUTCOME_COMPLETED);
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
	e->src.best_dirty = UINT64_MAX;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", mig_gops(e)->name(guest));
	e->report.ram_bytes = mig_gops(e)->ram_bytes(guest);
	e->report.downtime_target_ms = e->params.downtime_ms;
	e->report.bandwidth_limit_mbps = e->params.bandwidth_mbps;
	e->report.dirty_mode = mig_gops(e)->dirty_mode(guest);
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	if (!env->key || env->key_len == 0)
		return src_refuse_start(e, FERR_AUTH, "no migration_key in ferry.cfg: migration refused");
	if (e->pages == 0 || e->pages > MIG_MAX_PAGES || e->report.ram_bytes % MIB)
		return src_refuse_start(e, FERR_RANGE, "guest memory size cannot be migrated");
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
	};

	fmt_snprintf(offer.name, sizeof(offer.name), "%s", e->report.guest);
	memcpy(offer.mac, mig_gops(e)->mac(e->guest), MIG_MAC_BYTES);
	if (mig_src_offer(&e->proto.src, &offer, e->src.buffers->stream,
			  sizeof(e->src.buffers->stream)))
		src_fail(e, MIG_OUTCOME_FAILED, FERR_INVAL, MIG_REASON_INTERNAL, "cannot build the offer");
}

/* ---- the link: what the peer took, and how fast ---------------------------------------- */

/* Bytes the transport holds that the peer has not taken yet. */
static uint64_t queued_bytes(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;

	return t->unacked && e->conn ? t->unacked(e->conn) : 0;
}

/* Bytes the peer has taken so far. */
static uint64_t taken_bytes(struct mig_engine *e)
{
	uint64_t q = queued_bytes(e);

	return e->tx_bytes > q ? e->tx_bytes - q : 0;
}

/* Time to move `bytes` at the measured bandwidth; UINT64_MAX while it is unknown. */
static uint64_t transfer_ns(const struct mig_engine *e, uint64_t bytes)
{
	if (!e->src.bandwidth_bps)
		return UINT64_MAX;
	return bytes * (NS_PER_S / NS_PER_US) / e->src.bandwidth_bps * NS_PER_US;
}

/* ---- pre-copy rounds --------------------------------------------------------------------- */

static void begin_round(struct mig_engine *e, bool round0)
{
	e->src.round0 = round0;
	e->src.cursor = 0;
	e->round_start_ns = mig_now(e);
	e->src.round_start_taken = taken_bytes(e);
	e->round_zero = 0;
}

static void src_start_precopy(struct mig_engine *e)
{
	int err = mig_gops(e)->dirty_start(e->guest);

	if (err) {
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot start dirty logging");
		return;
	}
	e->src.dirty_logging = true;
	memset(e->src.dirty_map, 0, MIG_BITMAP_BYTES);
	memset(e->src.send_map, 0, MIG_BITMAP_BYTES);
	e->phase = MIG_PHASE_PRECOPY;
	e->pace_start_ns = mig_now(e);
	e->paced_bytes = 0;
	begin_round(e, true);
	mig_say(e, "migration %s: pre-copy of %llu pages (%s)", e->report.guest,
		(unsigned long long)e->pages, e->report.dirty_mode ? e->report.dirty_mode : "?");
}

/* Queues pages of the current round; true when the round has sent everything. */
static bool src_send_pages(struct mig_engine *e)
{
	const uint8_t *ram = mig_gops(e)->ram(e->guest);
	unsigned budget = PAGES_PER_STEP;

	while (budget-- && mig_pace_allowance(e) > 0) {
		uint64_t page = e->src.round0 ? e->src.cursor
			: bitmap_next_set(e->src.send_map, e->src.cursor, e->pages);
		if (page >= e->pages) {
			e->src.cursor = e->pages;
			return true;
		}
		if (!mig_src_has_room(&e->proto.src))
			return false;
		const uint8_t *data = ram + (page << MIG_PAGE_SHIFT);
		bool zero = mig_page_is_zero(data);
		if (mig_src_page(&e->proto.src, (uint32_t)page, zero ? NULL : data))
			return false;
		if (!e->src.round0)
			bitmap_clear(e->src.send_map, page);
		e->src.cursor = page + 1;
		e->round_zero += zero;
		e->report.pages++;
	}
	return e->src.cursor >= e->pages;
}

/* Closes the round in the report; false when ROUND_END could not be queued yet. */
static bool src_end_round(struct mig_engine *e, bool final)
{
	struct mig_round_end end;

	if (mig_src_round_end(&e->proto.src, final, &end))
		return false;
	mig_report_round(e, &end)->throttle = e->src.throttle;
	/*
	 * Bandwidth: what the peer took during the round (what entered a deep send buffer
	 * quickly is not what the link carries).
	 */
	uint64_t ns = mig_now(e) - e->round_start_ns;
	uint64_t taken = taken_bytes(e) - e->src.round_start_taken;
	if (ns > NS_PER_MS && taken > 0)
		e->src.bandwidth_bps = taken * (NS_PER_S / NS_PER_US) / (ns / NS_PER_US);
	return true;
}

/* Collects the pages dirtied since the last look into map: their count, or < 0 having failed. */
static long src_collect(struct mig_engine *e, uint64_t *map)
{
	long found = mig_gops(e)->dirty_collect(e->guest, map);

	if (found < 0)
		src_fail(e, MIG_OUTCOME_FAILED, (int)found, MIG_REASON_INTERNAL, "dirty collect failed");
	return found;
}

static void src_enter_stop_copy(struct mig_engine *e)
{
	int err = mig_gops(e)->pause(e->guest);

	if (err) {
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot pause the guest");
		return;
	}
	e->src.paused_by_us = true;
	e->src.pause_ns = mig_now(e);
	if (src_collect(e, e->src.send_map) < 0)
		return;
	e->phase = MIG_PHASE_STOP_COPY;
	e->src.sent_state = false;
	begin_round(e, false);
	mig_say(e, "migration %s: stop-and-copy, %llu pages", e->report.guest,
		(unsigned long long)bitmap_weight(e->src.send_map, e->pages));
}

/*
 * Whether the last dirty set (send_map) and the guest state can go in the downtime
 * target: stop-and-copy when they fit; but when the transport still holds more than
 * a quarter of the target's worth of earlier pages, first let it drain (the guest runs
 * on meanwhile) and look again, since a paused guest would wait for that queue too.
 */
static bool src_try_stop_copy(struct mig_engine *e, uint64_t dirty, bool drained)
{
	uint64_t target_ns = (uint64_t)e->params.downtime_ms * NS_PER_MS;
	uint64_t final_ns = transfer_ns(e, dirty * MIG_PAGE_WIRE_BYTES + VM_SNAPSHOT_MAX_BYTES);
	uint64_t queue_ns = transfer_ns(e, queued_bytes(e));

	if (dirty != 0 && final_ns > target_ns)
		return false;
	if (!drained && queued_bytes(e) > 0 && queue_ns > target_ns / 4) {
		e->src.draining = true;
		e->src.drain_queued = queued_bytes(e);
		return true;
	}
	src_enter_stop_copy(e);
	return true;
}

/* Gives up when pre-copy has run into its bounds; true then. */
static bool src_past_bounds(struct mig_engine *e, uint32_t round, uint64_t dirty)
{
	uint64_t elapsed_ms = (mig_now(e) - e->start_ns) / NS_PER_MS;

	if (round + 1 < e->params.max_rounds && elapsed_ms < e->params.max_time_ms)
		return false;
	char why[MIG_TEXT_MAX + 1];
	fmt_snprintf(why, sizeof(why), "not converged after %u rounds: %llu pages dirty, throttle %u%%",
		     round + 1, (unsigned long long)dirty, e->src.throttle);
	src_fail(e, MIG_OUTCOME_ABANDONED, FERR_TIMEOUT, MIG_REASON_NOT_CONVERGED, why);
	return true;
}

/*
 * Auto-converge, after a round whose dirty set did not fit: a dirty set not at least
 * MIG_SHRINK_MIN_PCT below the smallest one so far counts as a stalled round (a set
 * that only swings up and down around a floor is not converging either); after
 * MIG_STALL_ROUNDS of them the vCPU is throttled, then harder every round.
 */
static void src_converge(struct mig_engine *e, uint32_t round, uint64_t dirty)
{
	struct mig_engine_src *s = &e->src;

	if (round > 0 && dirty * 100 > s->best_dirty * (100 - MIG_SHRINK_MIN_PCT))
		s->stall_rounds++;
	else if (round > 0)
		s->stall_rounds = 0;
	if (dirty < s->best_dirty)
		s->best_dirty = dirty;
	if (s->throttle) {
		s->throttle = s->throttle + MIG_THROTTLE_STEP > MIG_THROTTLE_MAX
			? MIG_THROTTLE_MAX : s->throttle + MIG_THROTTLE_STEP;
		mig_gops(e)->set_throttle(e->guest, s->throttle);
	} else if (s->stall_rounds >= MIG_STALL_ROUNDS) {
		s->throttle = MIG_THROTTLE_FIRST;
		mig_gops(e)->set_throttle(e->guest, s->throttle);
	}
	if (s->throttle > e->report.max_throttle)
		e->report.max_throttle = s->throttle;
}

/* With the dirty set known: stop and copy, give up, or throttle and go round again. */
static void src_next_round(struct mig_engine *e, uint32_t round, uint64_t dirty, bool drained)
{
	if (src_try_stop_copy(e, dirty, drained) || src_past_bounds(e, round, dirty))
		return;
	src_converge(e, round, dirty);
	begin_round(e, false);
}

/* The end of a pre-copy round: collect, then go on, throttle, stop-and-copy or give up. */
static void src_after_round(struct mig_engine *e, uint32_t round)
{
	uint64_t dirty;

	memset(e->src.dirty_map, 0, MIG_BITMAP_BYTES);
	if (src_collect(e, e->src.dirty_map) < 0)
		return;
	dirty = bitmap_weight(e->src.dirty_map, e->pages);
	mig_round_row(e, round)->dirty_found = dirty;
	memcpy(e->src.send_map, e->src.dirty_map, MIG_BITMAP_BYTES);
	src_next_round(e, round, dirty, false);
}

/*
 * While draining: the peer taking bytes is progress (the stall timeout looks at
 * last_tx_ns). Once the queue is short, the pages dirtied meanwhile join the set
 * and the choice is made again; if they no longer fit, the next round sends them.
 */
static void src_drain(struct mig_engine *e)
{
	uint64_t target_ns = (uint64_t)e->params.downtime_ms * NS_PER_MS;
	uint64_t q = queued_bytes(e);
	uint32_t round = e->proto.src.round - 1;

	if (q < e->src.drain_queued) {
		e->src.drain_queued = q;
		e->last_tx_ns = mig_now(e);
	}
	if (q > 0 && transfer_ns(e, q) > target_ns / 4)
		return;
	e->src.draining = false;
	long found = src_collect(e, e->src.send_map);
	if (found < 0)
		return;
	mig_round_row(e, round)->dirty_found += (uint64_t)found;
	src_next_round(e, round, bitmap_weight(e->src.send_map, e->pages), true);
}

static void src_progress(struct mig_engine *e)
{
	struct mig_progress p;
	uint64_t t = mig_now(e), interval = t - e->src.last_progress_ns;

	if (!e->env.progress || interval < PROGRESS_INTERVAL_NS)
		return;
	p.guest = e->report.guest;
	p.role = MIG_ROLE_SOURCE;
	p.round = e->proto.src.round;
	p.remaining_pages = e->src.round0 ? e->pages - e->src.cursor
		: bitmap_weight(e->src.send_map, e->pages);
	p.rate_kbps = (e->report.total_bytes - e->src.progress_bytes) * (NS_PER_S / NS_PER_MS) /
		      (interval / NS_PER_MS) / KB_DECIMAL;
	p.eta_ms = p.rate_kbps ? p.remaining_pages * MIG_PAGE_WIRE_BYTES / p.rate_kbps : 0;
	p.throttle = e->src.throttle;
	e->env.progress(e->env.ctx, &p);
	e->src.last_progress_ns = t;
	e->src.progress_bytes = e->report.total_bytes;
}

/* ---- what the destination says --------------------------------------------------------- */

static void src_event(struct mig_engine *e, const struct mig_src_event *ev)
{
	char why[MIG_TEXT_MAX + 40];

	switch (ev->kind) {
	case MIG_SRC_EV_AUTHENTICATED:
		e->authenticated = true;
		src_send_offer(e);
		break;
	case MIG_SRC_EV_ACCEPTED:
		src_start_precopy(e);
		break;
	case MIG_SRC_EV_REFUSED:
		fmt_snprintf(why, sizeof(why), "destination refused (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		src_fail(e, MIG_OUTCOME_FAILED, FERR_BUSY, MIG_REASON_NONE, why);
		break;
	case MIG_SRC_EV_READY:
		/* From here the guest is handed over: the source never resumes it on its own. */
		if (mig_src_go(&e->proto.src) == 0)
			e->go_sent = true;
		break;
	case MIG_SRC_EV_RESUMED:
		e->report.downtime_src_ns = mig_now(e) - e->src.pause_ns;
		e->report.downtime_dst_ns = ev->dest_downtime_ns;
		e->destination_running = true;
		break;
	case MIG_SRC_EV_ABORTED:
		/* Before or after GO, the destination never ran the guest when it aborts. */
		fmt_snprintf(why, sizeof(why), "destination aborted (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		e->go_sent = false;
		src_fail(e, ev->reason == MIG_REASON_CANCELLED ? MIG_OUTCOME_CANCELLED
			 : MIG_OUTCOME_FAILED, FERR_PROTO, MIG_REASON_NONE, why);
		break;
	case MIG_SRC_EV_ANSWER:
		break;   /* a migration never queries (engine_doubt.c does, on its own connection) */
	}
}

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
				if (e->go_sent)
					mig_src_in_doubt(e, rc, e->proto.src.error[0] ? e->proto.src.error
							 : "the protocol took no bytes (a Ferry bug)");
				else
					src_fail(e, MIG_OUTCOME_FAILED, rc, MIG_REASON_PROTOCOL,
						 e->proto.src.error[0] ? e->proto.src.error
						 : "the protocol took no bytes (a Ferry bug)");
				return 0;
			}
			if (rc == 1)
				src_event(e, &ev);
			if (e->destination_running)
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
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
			 mig_transport_why(e, "no migration listener at the destination"));
		return false;
	}
	if (!t->connected(e->conn)) {
		if (mig_now(e) - e->start_ns > (uint64_t)e->params.connect_timeout_ms * NS_PER_MS)
			src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_NONE,
				 "destination did not answer the connection");
		return false;
	}
	e->phase = MIG_PHASE_HANDSHAKE;
	e->last_rx_ns = e->src.connected_ns = mig_now(e);
	return true;
}

static void src_precopy_step(struct mig_engine *e)
{
	if ((mig_now(e) - e->start_ns) / NS_PER_MS >= e->params.max_time_ms) {
		src_fail(e, MIG_OUTCOME_ABANDONED, FERR_TIMEOUT, MIG_REASON_NOT_CONVERGED,
			 "pre-copy exceeded its time bound");
		return;
	}
	if (e->src.draining)
		src_drain(e);
	else if (src_send_pages(e) && src_end_round(e, false))
		src_after_round(e, e->proto.src.round - 1);
	src_progress(e);
}

/* The guest is paused: the last pages, the final ROUND_END, STATE, DONE. */
static void src_stop_copy_step(struct mig_engine *e)
{
	if (!e->src.sent_state) {
		if (!src_send_pages(e) || !src_end_round(e, true))
			return;
		long len = mig_gops(e)->state_save(e->guest, e->state_blob, VM_SNAPSHOT_MAX_BYTES);
		if (len <= 0) {
			src_fail(e, MIG_OUTCOME_FAILED, len ? (int)len : FERR_INVAL,
				 MIG_REASON_INTERNAL, "cannot save the guest state");
			return;
		}
		e->state_len = (size_t)len;
		e->src.sent_state = true;
	}
	if (mig_src_state(&e->proto.src, e->state_blob, e->state_len) == FERR_BUSY)
		return;
	if (mig_src_done(&e->proto.src) == 0) {
		e->phase = MIG_PHASE_SWITCHOVER;
		e->last_rx_ns = mig_now(e);
	}
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
		src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			 "destination did not prove the key in time (handshake deadline)");
		return;
	}
	if (e->src.paused_by_us && !e->go_sent && mig_now(e) - e->src.pause_ns > src_pause_cap_ns(e)) {
		char why[MIG_TEXT_MAX + 1];
		fmt_snprintf(why, sizeof(why), "guest paused %llu ms without the destination's READY: "
			     "resumed here", (unsigned long long)(src_pause_cap_ns(e) / NS_PER_MS));
		src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT, why);
		return;
	}
	if ((e->phase == MIG_PHASE_PRECOPY || e->phase == MIG_PHASE_STOP_COPY) &&
	    mig_reply_overdue(e, last_io_ns)) {
		src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			 "destination stopped reading the stream");
		return;
	}
	if (mig_reply_overdue(e, e->last_rx_ns) &&
	    (e->phase == MIG_PHASE_HANDSHAKE || e->phase == MIG_PHASE_SWITCHOVER)) {
		if (e->go_sent)
			mig_src_in_doubt(e, FERR_TIMEOUT, "no RESUMED from the destination after GO");
		else
			src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
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
		src_fail(e, MIG_OUTCOME_CANCELLED, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	if (e->phase == MIG_PHASE_CONNECTING && !src_connected(e))
		return;

	err = src_pump_in(e);
	if (src_over(e))
		return;
	if (e->destination_running) {
		src_complete(e);
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
		src_precopy_step(e);
		break;
	case MIG_PHASE_STOP_COPY:
		src_stop_copy_step(e);
		break;
	case MIG_PHASE_SWITCHOVER:
		/* READY came while GO did not fit in the output yet. */
		if (e->proto.src.state == MIG_SRC_READY && mig_src_go(&e->proto.src) == 0)
			e->go_sent = true;
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
	src_check_silence(e);
}
