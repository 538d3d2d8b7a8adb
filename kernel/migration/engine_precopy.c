/*
 * The source's pre-copy and stop-and-copy (engine.h, engine_src.c): the rounds, the
 * estimate of the final transfer and the choice to stop, auto-converge, the drain
 * before the pause, and the stop-and-copy itself. Portable.
 *
 * The estimate (docs/migration.md "Switchover"): the final transfer is the last dirty
 * pages in the pieces the pause sends them in, the state as it would be saved now (its
 * actual size) and the closing messages, at the link's smoothed bandwidth (link.h),
 * plus the hand-over's two round trips (READY back; GO out and RESUMED back), plus the
 * state's save and the destination's load (taken as three times what encoding the
 * state here takes), plus with verify=before hashing all of RAM at the pause, which
 * overlaps the transfer. It predicts the source's measure of the downtime, pause to
 * RESUMED; the report's floor counts one round trip, the least any hand-over needs.
 * The engine stops when the estimate fits the downtime target, having first let the
 * transport drain: a paused guest would wait for the queue too.
 *
 * Auto-converge throttles only while the guest's writes truly outrun the link: when
 * the dirty sets' model (converge.h: a floor of pages dirty in any round, plus the
 * bytes dirtied per byte sent) says they would not fit within half the rounds left,
 * or the sets have settled above what fits, for MIG_OUTRUN_ROUNDS rounds in a row. An
 * idle guest or a slow writer then converges without throttling: round 0, perhaps one
 * more, and the stop-and-copy; a writer whose small sets are mostly the floor is not
 * throttled for their noise.
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

/*
 * Pages queued per step: one batch. A step must stay short (the console and the NIC
 * share the poller loop); under Bochs, copying and encrypting 128 KiB takes milliseconds.
 */
#define PAGES_PER_STEP MIG_BATCH_MAX_PAGES
#define PROGRESS_INTERVAL_NS NS_PER_S
/* Queued ahead of the link: this long at its bandwidth, and enough to keep it saturated (link.h). */
#define SEND_AHEAD_NS (20 * NS_PER_MS)
#define SEND_AHEAD_MIN_BYTES (4 * MIG_LINK_SATURATED_BYTES)
/*
 * The guest paused, the pages go in pieces of about this much of the link's time, each
 * handed to the transport as soon as it is made (engine.c writes a piece at a time: a
 * TLS record, or two, of its own). A burst pays every stage's latency for its first and
 * last piece (the source encrypts a whole record before it leaves; the destination
 * decrypts a record only once all of it is in, and applies a piece once it is whole),
 * so small pieces where the link is slow (one page under Bochs, where a page's
 * encryption alone takes 1.6 ms); where it is fast, pieces large enough that the
 * per-message and per-record work does not slow the burst below the pre-copy's rate (a
 * batch, 128 KiB, at 130 MB/s and up).
 */
#define PAUSED_PIECE_NS NS_PER_MS
/* The queue may hold this much when the guest pauses: the drain's end. */
#define DRAIN_SLACK_NS NS_PER_MS
/*
 * Round trips from the pause to RESUMED: the final bytes' READY, then GO and RESUMED.
 * The second is the price of a hand-over in which the source keeps the guest until the
 * destination has all of it (docs/migration.md "Failures").
 */
#define HANDOVER_ROUND_TRIPS 2
/* The state's save here and load there, against encoding it here once. */
#define STATE_COST_FACTOR 3

/* ---- the link -------------------------------------------------------------------------- */

void mig_src_sample_link(struct mig_engine *e)
{
	if (e->phase == MIG_PHASE_PRECOPY || e->phase == MIG_PHASE_STOP_COPY)
		mig_link_sample(&e->src.link, mig_now(e), mig_src_taken(e), mig_src_queued(e));
}

/*
 * Bytes per second: the link's smoothed estimate or, before it has enough to go on,
 * what the peer took since pre-copy began (a lower bound: the link also idled).
 */
static uint64_t bandwidth(struct mig_engine *e)
{
	uint64_t bw = mig_link_bandwidth(&e->src.link);
	uint64_t elapsed = mig_now(e) - e->src.precopy_start_ns;
	uint64_t taken = mig_src_taken(e) - e->src.precopy_start_taken;

	if (bw || elapsed < NS_PER_US || !taken)
		return bw;
	return taken * (NS_PER_S / NS_PER_US) / (elapsed / NS_PER_US);
}

static uint64_t transfer_ns(struct mig_engine *e, uint64_t bytes)
{
	uint64_t bw = bandwidth(e);

	if (!bw)
		return UINT64_MAX;
	return bytes * (NS_PER_S / NS_PER_US) / bw * NS_PER_US;
}

/* ---- the estimate ------------------------------------------------------------------------ */

/* The state as it would be saved now, and what encoding it takes here. */
static uint64_t state_bytes(struct mig_engine *e)
{
	long len = mig_gops(e)->state_size ? mig_gops(e)->state_size(e->guest) : 0;

	return len > 0 ? (uint64_t)len : VM_SNAPSHOT_MAX_BYTES;
}

static void measure_state(struct mig_engine *e)
{
	uint64_t start = mig_now(e);

	e->report.state_bytes = state_bytes(e);
	e->src.state_ns = mig_now(e) - start;
}

/* Pages a piece while the guest is paused: about PAUSED_PIECE_NS of the link, one page .. one batch. */
static uint32_t paused_piece_pages(struct mig_engine *e)
{
	return mig_batch_pages_clamp(bandwidth(e) * PAUSED_PIECE_NS / NS_PER_S / MIG_PAGE_WIRE_BYTES);
}

/* Wire bytes of the stop-and-copy with `dirty` pages: pages, ROUND_END, STATE, DONE. */
static uint64_t final_bytes(struct mig_engine *e, uint64_t dirty)
{
	uint64_t piece = paused_piece_pages(e);
	uint64_t pieces = (dirty + piece - 1) / piece;

	return dirty * MIG_PAGE_WIRE_BYTES + pieces * MIG_FRAME_OVERHEAD +
	       MIG_ROUND_END_BYTES + MIG_FRAME_OVERHEAD +
	       e->report.state_bytes + MIG_FRAME_OVERHEAD + MIG_DONE_BYTES + MIG_FRAME_OVERHEAD;
}

/*
 * The downtime the stop-and-copy of `dirty` pages would take; UINT64_MAX while
 * unknown. with_verify adds verify=before's hashing of RAM, which overlaps the
 * transfer: the target is held against the rest, since the operator chose that cost
 * (it shows in the report's estimate).
 */
static uint64_t estimate_ns(struct mig_engine *e, uint64_t dirty, bool with_verify)
{
	uint64_t wire = transfer_ns(e, final_bytes(e, dirty));

	if (wire == UINT64_MAX)
		return UINT64_MAX;
	if (with_verify && e->params.verify == MIG_VERIFY_BEFORE) {
		uint64_t hash = e->pages * e->src.hash_ns_per_page;
		if (hash > wire)
			wire = hash;
	}
	return wire + HANDOVER_ROUND_TRIPS * e->src.link.rtt_ns + STATE_COST_FACTOR * e->src.state_ns;
}

/* The largest dirty set whose stop-and-copy fits the target (0 when not even none does). */
static uint64_t pages_that_fit(struct mig_engine *e)
{
	uint64_t target = (uint64_t)e->params.downtime_ms * NS_PER_MS;
	uint64_t lo = 0, hi = e->pages;

	if (estimate_ns(e, 0, false) > target)
		return 0;
	while (lo < hi) {          /* the estimate grows with the pages: bisect */
		uint64_t mid = lo + (hi - lo + 1) / 2;
		if (estimate_ns(e, mid, false) <= target)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* ---- pre-copy rounds --------------------------------------------------------------------- */

static void begin_round(struct mig_engine *e, bool round0)
{
	e->src.round0 = round0;
	e->src.cursor = 0;
	e->round_start_ns = mig_now(e);
	e->round_zero = 0;
}

void mig_src_start_precopy(struct mig_engine *e)
{
	int err = mig_gops(e)->dirty_start(e->guest);

	if (err) {
		mig_src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot start dirty logging");
		return;
	}
	e->src.dirty_logging = true;
	mig_converge_init(&e->src.converge, MIG_PAGE_WIRE_BYTES);
	memset(e->src.dirty_map, 0, MIG_BITMAP_BYTES);
	memset(e->src.send_map, 0, MIG_BITMAP_BYTES);
	e->phase = MIG_PHASE_PRECOPY;
	e->pace_start_ns = mig_now(e);
	e->paced_bytes = 0;
	measure_state(e);
	e->src.precopy_start_ns = mig_now(e);
	e->src.precopy_start_taken = mig_src_taken(e);
#ifdef FERRY_FAULT_INJECTION
	e->src.fault_page = UINT64_MAX;
#endif
	begin_round(e, true);
	mig_say(e, "migration %s: pre-copy of %llu pages (%s)", e->report.guest,
		(unsigned long long)e->pages, e->report.dirty_mode ? e->report.dirty_mode : "?");
}

/* Enough queued ahead of the link: more would only wait, and lengthen the drain. */
static bool queued_enough(struct mig_engine *e)
{
	uint64_t bw = mig_link_bandwidth(&e->src.link);
	uint64_t ahead = bw * SEND_AHEAD_NS / NS_PER_S;

	if (!mig_link_saturated(&e->src.link) || e->phase != MIG_PHASE_PRECOPY)
		return false;
	return mig_src_queued(e) > (ahead > SEND_AHEAD_MIN_BYTES ? ahead : SEND_AHEAD_MIN_BYTES);
}

#ifdef FERRY_FAULT_INJECTION
/*
 * The injected faults pick the first page a round after round 0 would send, and from
 * then on:
 * - MIG_FAULT_DROP_PAGE never sends it again, as if the dirty tracking missed its
 *   writes: the destination keeps an older copy (the same bytes, if the guest wrote
 *   back what was there: then nothing differs and the digest rightly matches);
 * - MIG_FAULT_CORRUPT_PAGE sends it with its first byte flipped, as a wrong copy would:
 *   the destination's page differs from the source's, always.
 */
static bool fault_hits(struct mig_engine *e, uint64_t page, enum mig_fault fault)
{
	if (e->params.fault != fault || e->src.round0)
		return false;
	if (e->src.fault_page == UINT64_MAX) {
		e->src.fault_page = page;
		mig_say(e, "migration %s: fault injection: page %llu %s from this round on", e->report.guest,
			(unsigned long long)page, fault == MIG_FAULT_DROP_PAGE ? "dropped" : "corrupted");
	}
	return page == e->src.fault_page;
}

/* What goes on the wire for the page: its bytes, or a corrupted copy of them. */
static const uint8_t *fault_corrupts(struct mig_engine *e, uint64_t page, const uint8_t *data)
{
	if (!fault_hits(e, page, MIG_FAULT_CORRUPT_PAGE))
		return data;
	memcpy(e->src.fault_copy, data, MIG_PAGE_SIZE);
	e->src.fault_copy[0] ^= 0xff;
	return e->src.fault_copy;
}
#endif

/* Queues pages of the current round; true when the round has sent everything. */
static bool src_send_pages(struct mig_engine *e, unsigned budget)
{
	const uint8_t *ram = mig_gops(e)->ram(e->guest);

	if (queued_enough(e))
		return false;
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
#ifdef FERRY_FAULT_INJECTION
		if (fault_hits(e, page, MIG_FAULT_DROP_PAGE)) {
			bitmap_clear(e->src.send_map, page);
			e->src.cursor = page + 1;
			continue;
		}
		data = fault_corrupts(e, page, data);
#endif
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

/*
 * The stop-and-copy round's pages, each handed to the transport as soon as it is queued;
 * true once all are queued. False when the writer or the pace has no room (the next step
 * goes on) or the transport failed (the step's own pump reports it).
 */
static bool src_send_final_pages(struct mig_engine *e)
{
	for (;;) {
		uint64_t cursor = e->src.cursor;
		bool all = src_send_pages(e, e->proto.src.batch_pages_max);

		if (mig_pump_out(e))
			return false;
		if (all)
			return true;
		if (e->src.cursor == cursor)
			return false;
	}
}

/* Closes the round in the report; false when ROUND_END could not be queued yet. */
static bool src_end_round(struct mig_engine *e, bool final)
{
	struct mig_round_end end;

	if (mig_src_round_end(&e->proto.src, final, &end))
		return false;
	mig_report_round(e, &end)->throttle = e->src.throttle;
	e->src.round_bytes = end.bytes;
	return true;
}

/* Collects the pages dirtied since the last look into map: their count, or < 0 having failed. */
static long src_collect(struct mig_engine *e, uint64_t *map)
{
	long found = mig_gops(e)->dirty_collect(e->guest, map);

	if (found < 0)
		mig_src_fail(e, MIG_OUTCOME_FAILED, (int)found, MIG_REASON_INTERNAL, "dirty collect failed");
	return found;
}


static void src_enter_stop_copy(struct mig_engine *e)
{
	int err = mig_gops(e)->pause(e->guest);

	if (err) {
		mig_src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot pause the guest");
		return;
	}
	e->src.paused_by_us = true;
	e->src.pause_ns = mig_now(e);
	if (src_collect(e, e->src.send_map) < 0)
		return;
	e->report.pause_collected_ns = mig_now(e) - e->src.pause_ns;
	uint64_t dirty = bitmap_weight(e->src.send_map, e->pages);
	e->report.bandwidth_bps = bandwidth(e);
	e->report.estimate_ns = estimate_ns(e, dirty, true);
	e->phase = MIG_PHASE_STOP_COPY;
	e->src.sent_state = false;
	mig_src_set_batch_pages(&e->proto.src, paused_piece_pages(e));
	begin_round(e, false);
	mig_say(e, "migration %s: stop-and-copy, %llu pages", e->report.guest, (unsigned long long)dirty);
}

/*
 * Whether the last dirty set (send_map) and the state fit the downtime target: then
 * stop-and-copy, once the transport has drained (the guest runs on meanwhile, and
 * the pages it dirties are looked at again after the drain).
 */
static bool src_try_stop_copy(struct mig_engine *e, uint64_t dirty, bool drained)
{
	uint64_t target_ns = (uint64_t)e->params.downtime_ms * NS_PER_MS;

	measure_state(e);
	if (dirty != 0 && estimate_ns(e, dirty, false) > target_ns)
		return false;
	if (!drained && transfer_ns(e, mig_src_queued(e)) > DRAIN_SLACK_NS) {
		e->src.draining = true;
		e->src.drain_queued = mig_src_queued(e);
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
	/* What the last dirty set would have cost, so that the report says which downtime=
	 * this link could meet (the figures are the report's link_kbps and estimate_ms). */
	e->report.bandwidth_bps = bandwidth(e);
	e->report.estimate_ns = estimate_ns(e, dirty, true);
	char why[MIG_TEXT_MAX + 1];
	if (e->report.estimate_ns == UINT64_MAX)
		fmt_snprintf(why, sizeof(why), "not converged after %u rounds: %llu pages dirty, throttle %u%%",
			     round + 1, (unsigned long long)dirty, e->src.throttle);
	else
		fmt_snprintf(why, sizeof(why), "not converged after %u rounds: %llu pages dirty, throttle %u%%; "
			     "they would take about %llu ms against the %u ms target",
			     round + 1, (unsigned long long)dirty, e->src.throttle,
			     (unsigned long long)(e->report.estimate_ns / NS_PER_MS), e->params.downtime_ms);
	mig_src_fail(e, MIG_OUTCOME_ABANDONED, FERR_TIMEOUT, MIG_REASON_NOT_CONVERGED, why);
	return true;
}

/*
 * Auto-converge, after round `round` left `dirty` pages that do not fit: whether the
 * guest outruns the link is the dirty sets' model's to say (converge.h). After
 * MIG_OUTRUN_ROUNDS such rounds the vCPU is throttled, then harder every round it
 * still outruns; each new throttle makes the guest another writer for the model.
 */
static void src_converge(struct mig_engine *e, uint32_t round, uint64_t dirty)
{
	struct mig_engine_src *s = &e->src;
	uint32_t left = e->params.max_rounds > round + 1 ? e->params.max_rounds - round - 1 : 0;
	unsigned throttle = s->throttle;
	uint64_t fit = pages_that_fit(e);

	mig_converge_round(&s->converge, round, s->round_bytes, dirty);
	bool outrun = mig_converge_outruns(&s->converge, dirty, fit, left);

	s->outrun_rounds = outrun ? s->outrun_rounds + 1 : 0;
	if (throttle && outrun)
		throttle = throttle + MIG_THROTTLE_STEP > MIG_THROTTLE_MAX
			? MIG_THROTTLE_MAX : throttle + MIG_THROTTLE_STEP;
	else if (!throttle && s->outrun_rounds >= MIG_OUTRUN_ROUNDS)
		throttle = MIG_THROTTLE_FIRST;
	if (throttle != s->throttle) {
		struct mig_converge_model model;
		/* Why, in the model's words: the operator sees what outran what. */
		mig_converge_read(&s->converge, &model);
		mig_say(e, "migration %s: throttle %u%% after round %u: %llu pages dirty, %llu fit; "
			"dirtied/sent %llu.%02llu, floor %llu pages, smallest set %llu, %u rounds ago",
			e->report.guest, throttle, round, (unsigned long long)dirty, (unsigned long long)fit,
			(unsigned long long)(model.ratio_ppm / MIG_CONVERGE_PPM),
			(unsigned long long)(model.ratio_ppm % MIG_CONVERGE_PPM / (MIG_CONVERGE_PPM / 100)),
			(unsigned long long)model.floor_pages, (unsigned long long)s->converge.smallest,
			s->converge.since_smallest);
		s->throttle = throttle;
		mig_gops(e)->set_throttle(e->guest, throttle);
		mig_converge_writer_changed(&s->converge);
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
	uint64_t q = mig_src_queued(e);
	uint32_t round = e->proto.src.round - 1;

	if (q < e->src.drain_queued) {
		e->src.drain_queued = q;
		e->last_tx_ns = mig_now(e);
	}
	if (q > 0 && transfer_ns(e, q) > DRAIN_SLACK_NS)
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

void mig_src_precopy_step(struct mig_engine *e)
{
	if ((mig_now(e) - e->start_ns) / NS_PER_MS >= e->params.max_time_ms) {
		mig_src_fail(e, MIG_OUTCOME_ABANDONED, FERR_TIMEOUT, MIG_REASON_NOT_CONVERGED,
			     "pre-copy exceeded its time bound");
		return;
	}
	if (e->src.draining)
		src_drain(e);
	else if (src_send_pages(e, PAGES_PER_STEP) && src_end_round(e, false))
		src_after_round(e, e->proto.src.round - 1);
	if (e->phase == MIG_PHASE_PRECOPY)
		src_progress(e);
}

/* ---- stop-and-copy ------------------------------------------------------------------------ */

/*
 * The guest is paused: the last pages, the final ROUND_END, STATE, with verify=before
 * the sums of the paused RAM (hashed while the pages drain), then DONE.
 */
void mig_src_stop_copy_step(struct mig_engine *e)
{
	if (!e->src.sent_state) {
		if (!src_send_final_pages(e) || !src_end_round(e, true))
			return;
		long len = mig_gops(e)->state_save(e->guest, e->state_blob, VM_SNAPSHOT_MAX_BYTES);
		if (len <= 0) {
			mig_src_fail(e, MIG_OUTCOME_FAILED, len ? (int)len : FERR_INVAL,
				     MIG_REASON_INTERNAL, "cannot save the guest state");
			return;
		}
		e->state_len = (size_t)len;
		e->src.state_saved_ns = mig_now(e);
		e->report.pause_saved_ns = e->src.state_saved_ns - e->src.pause_ns;
		e->report.state_bytes = (uint64_t)len;
		/* What the stop-and-copy carries: the final round's pages and the messages around them. */
		e->report.final_bytes = final_bytes(e, 0) + mig_round_row(e, e->proto.src.round - 1)->bytes;
		e->src.sent_state = true;
		if (e->params.verify == MIG_VERIFY_BEFORE)
			mig_digest_src_begin(e);
	}
	if (!e->proto.src.state_sent &&
	    mig_src_state(&e->proto.src, e->state_blob, e->state_len) == FERR_BUSY)
		return;
	if (e->params.verify == MIG_VERIFY_BEFORE && !mig_digest_src_step(e))
		return;
	if (mig_src_done(&e->proto.src) == 0) {
		e->report.pause_done_ns = mig_now(e) - e->src.pause_ns;
		e->phase = MIG_PHASE_SWITCHOVER;
		e->last_rx_ns = mig_now(e);
	}
}
