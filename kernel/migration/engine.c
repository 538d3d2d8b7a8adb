/*
 * The live-migration engine (engine.h): drives proto_src/proto_dest with the
 * guest and transport ops it is given.
 */
#include "kernel/migration/engine.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/migration/rarp.h"

#define NS_PER_MS 1000000ull
#define NS_PER_US 1000ull
#define NS_PER_S 1000000000ull
#define MIB_SHIFT 20
/*
 * Pages queued per step: one batch. A step must stay short (the console and the NIC
 * share the poller loop); under Bochs, copying and tagging 128 KiB takes milliseconds.
 */
#define PAGES_PER_STEP MIG_BATCH_MAX_PAGES
#define READS_PER_STEP 8
#define PROGRESS_INTERVAL_NS NS_PER_S
#define PAGE_WIRE_BYTES (MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE)

/* ---- small helpers ---------------------------------------------------------------- */

static uint64_t now(const struct mig_engine *e)
{
	return e->env.now_ns(e->env.ctx);
}

static void say(struct mig_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct mig_engine *e, const char *fmt, ...)
{
	char line[160];
	va_list ap;

	if (!e->env.log)
		return;
	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->env.log(e->env.ctx, line);
}


static void bit_clear(uint64_t *map, uint64_t i)
{
	map[i / 64] &= ~(1ull << (i % 64));
}

/* Set bits of a word, without the popcnt instruction or libgcc's helper (the image has neither). */
static uint64_t popcount64(uint64_t v)
{
	v = v - ((v >> 1) & 0x5555555555555555ull);
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (v * 0x0101010101010101ull) >> 56;
}

static uint64_t bits_count(const uint64_t *map, uint64_t bits)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w < (bits + 63) / 64; w++)
		n += popcount64(map[w]);
	return n;
}

/* Next set bit at or after i, or `bits` when none. */
static uint64_t bit_next(const uint64_t *map, uint64_t i, uint64_t bits)
{
	while (i < bits) {
		uint64_t word = map[i / 64] >> (i % 64);
		if (word)
			return i + (uint64_t)__builtin_ctzll(word);
		i = (i / 64 + 1) * 64;
	}
	return bits;
}

const char *mig_phase_name(enum mig_engine_phase phase)
{
	static const char *const names[] = {
		[MIG_PHASE_IDLE] = "idle", [MIG_PHASE_CONNECTING] = "connecting",
		[MIG_PHASE_HANDSHAKE] = "handshake", [MIG_PHASE_PRECOPY] = "pre-copy",
		[MIG_PHASE_STOP_COPY] = "stop-and-copy", [MIG_PHASE_SWITCHOVER] = "switchover",
		[MIG_PHASE_ANNOUNCE] = "announce", [MIG_PHASE_FINISHED] = "finished",
	};
	return phase <= MIG_PHASE_FINISHED ? names[phase] : "unknown";
}

void mig_params_defaults(struct mig_params *p)
{
	p->downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
	p->bandwidth_mbps = 0;
	p->max_rounds = MIG_DEFAULT_MAX_ROUNDS;
	p->max_time_ms = MIG_DEFAULT_MAX_TIME_MS;
	p->connect_timeout_ms = MIG_DEFAULT_CONNECT_TIMEOUT_MS;
	p->reply_timeout_ms = MIG_DEFAULT_REPLY_TIMEOUT_MS;
}

static void set_reason(struct mig_engine *e, int err, const char *why)
{
	e->report.err = err;
	fmt_snprintf(e->report.reason, sizeof(e->report.reason), "%s", why ? why : "");
}

static struct mig_round_stats *round_row(struct mig_engine *e, uint32_t round)
{
	uint32_t row = round < MIG_REPORT_MAX_ROUNDS ? round : MIG_REPORT_MAX_ROUNDS - 1;

	if (round >= e->report.rounds)
		e->report.rounds = round + 1;
	return &e->report.round[row];
}

static void finish(struct mig_engine *e, enum mig_outcome outcome)
{
	e->report.outcome = outcome;
	e->report.total_ns = now(e) - e->start_ns;
	if (e->report.total_ns)
		e->report.throughput_kbps = e->report.page_bytes * (NS_PER_S / NS_PER_US) /
					    (e->report.total_ns / NS_PER_US + 1) / 1000;
	e->phase = MIG_PHASE_FINISHED;
	say(e, "migration %s: %s%s%s", e->report.guest, mig_outcome_name(outcome),
	    e->report.reason[0] ? ": " : "", e->report.reason);
}

/* ---- transport pumping --------------------------------------------------------------- */

static size_t pending(struct mig_engine *e, const uint8_t **data)
{
	return e->role == MIG_ROLE_SOURCE ? mig_src_pending(&e->proto.src, data)
					  : mig_dst_pending(&e->proto.dst, data);
}

static void consume(struct mig_engine *e, size_t n)
{
	if (e->role == MIG_ROLE_SOURCE)
		mig_src_consume(&e->proto.src, n);
	else
		mig_dst_consume(&e->proto.dst, n);
}

/* Bytes the bandwidth limit allows to be written now. */
static uint64_t pace_allowance(struct mig_engine *e)
{
	uint64_t bytes_per_s = (uint64_t)e->params.bandwidth_mbps * 1000000ull;
	uint64_t elapsed_us, allowed;

	if (!bytes_per_s || e->role != MIG_ROLE_SOURCE)
		return UINT64_MAX;
	elapsed_us = (now(e) - e->pace_start_ns) / NS_PER_US;
	allowed = elapsed_us * bytes_per_s / 1000000ull;
	return allowed > e->paced_bytes ? allowed - e->paced_bytes : 0;
}

/* Writes what the protocol queued; 0 or the transport's error. */
static int pump_out(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	const uint8_t *data;
	size_t len;
	bool wrote = false;

	while ((len = pending(e, &data)) > 0) {
		uint64_t allowance = pace_allowance(e);
		size_t room = t->writable(e->conn);
		if (len > room)
			len = room;
		if (len > allowance)
			len = (size_t)allowance;
		if (len == 0)
			break;
		long n = t->write(e->conn, data, len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		consume(e, (size_t)n);
		e->last_tx_ns = now(e);
		e->tx_bytes += (uint64_t)n;
		e->paced_bytes += (uint64_t)n;
		e->report.total_bytes += (uint64_t)n;
		wrote = true;
	}
	if (wrote && t->flush)
		t->flush(e->conn);
	return t->error(e->conn);
}

static bool output_drained(struct mig_engine *e)
{
	const uint8_t *data;

	return pending(e, &data) == 0;
}

/* ---- source ---------------------------------------------------------------------------- */

static const struct mig_guest_ops *gops(const struct mig_engine *e)
{
	return e->env.guest_ops;
}

/* Stops everything we started on the source guest and leaves it running there. */
static void src_restore_guest(struct mig_engine *e)
{
	if (e->dirty_logging) {
		gops(e)->dirty_stop(e->guest);
		e->dirty_logging = false;
	}
	if (e->throttle) {
		gops(e)->set_throttle(e->guest, 0);
		e->throttle = 0;
	}
	if (e->paused_by_us) {
		gops(e)->resume(e->guest);
		e->paused_by_us = false;
	}
	gops(e)->set_migrating(e->guest, false);
}

static void close_conn(struct mig_engine *e, bool graceful)
{
	if (!e->conn)
		return;
	if (graceful)
		e->env.transport_ops->close(e->conn);
	else
		e->env.transport_ops->abort(e->conn);
	e->conn = NULL;
}

/* A failure before GO: tell the peer (best effort), resume the guest here. */
static void src_fail(struct mig_engine *e, enum mig_outcome outcome, int err, unsigned reason,
		     const char *why)
{
	set_reason(e, err, why);
	if (e->conn && mig_src_abort(&e->proto.src, reason, why) == 0)
		pump_out(e);
	close_conn(e, true);
	src_restore_guest(e);
	mig_src_fini(&e->proto.src);
	finish(e, outcome);
}

int mig_source_start(struct mig_engine *e, const struct mig_env *env,
		     const struct mig_params *params, void *guest, void *conn)
{
	uint8_t nonce[MIG_NONCE_BYTES];
	int err;

	memset(&e->report, 0, sizeof(e->report));
	e->role = MIG_ROLE_SOURCE;
	e->report.role = MIG_ROLE_SOURCE;
	e->phase = MIG_PHASE_IDLE;
	e->env = *env;
	if (params)
		e->params = *params;
	else
		mig_params_defaults(&e->params);
	if (!e->params.downtime_ms)
		e->params.downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
	e->guest = guest;
	e->conn = NULL;
	e->start_ns = e->phase_ns = e->last_rx_ns = e->last_progress_ns = now(e);
	e->pace_start_ns = e->start_ns;
	e->last_tx_ns = e->start_ns;
	e->paced_bytes = e->progress_bytes = 0;
	e->tx_bytes = e->round_start_taken = e->drain_queued = 0;
	e->draining = false;
	e->dirty_logging = e->paused_by_us = e->go_sent = e->cancel_requested = false;
	e->destination_running = false;
	e->throttle = 0;
	e->stall_rounds = 0;
	e->bandwidth_bps = 0;
	e->best_dirty = UINT64_MAX;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", gops(e)->name(guest));
	e->report.ram_bytes = gops(e)->ram_bytes(guest);
	e->report.downtime_target_ms = e->params.downtime_ms;
	e->report.bandwidth_limit_mbps = e->params.bandwidth_mbps;
	e->report.dirty_mode = gops(e)->dirty_mode(guest);
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	if (!env->key || env->key_len == 0) {
		set_reason(e, FERR_AUTH, "no migration_key in ferry.cfg: migration refused");
		e->phase = MIG_PHASE_FINISHED;
		e->report.outcome = MIG_OUTCOME_FAILED;
		return FERR_AUTH;
	}
	if (e->pages == 0 || e->pages > MIG_MAX_PAGES || (e->report.ram_bytes & ((1u << MIB_SHIFT) - 1))) {
		set_reason(e, FERR_RANGE, "guest memory size cannot be migrated");
		e->phase = MIG_PHASE_FINISHED;
		e->report.outcome = MIG_OUTCOME_FAILED;
		return FERR_RANGE;
	}
	err = env->random(env->ctx, nonce, sizeof(nonce));
	if (!err)
		err = env->random(env->ctx, &e->report.migration_id, sizeof(e->report.migration_id));
	if (err) {
		set_reason(e, err, "no entropy source for the handshake nonce");
		e->phase = MIG_PHASE_FINISHED;
		e->report.outcome = MIG_OUTCOME_FAILED;
		return err;
	}
	err = mig_src_init(&e->proto.src, env->key, env->key_len, nonce);
	if (err) {
		set_reason(e, err, e->proto.src.error);
		e->phase = MIG_PHASE_FINISHED;
		e->report.outcome = MIG_OUTCOME_FAILED;
		return err;
	}
	e->conn = conn;
	gops(e)->set_migrating(guest, true);
	e->phase = MIG_PHASE_CONNECTING;
	e->report.outcome = MIG_OUTCOME_RUNNING;
	say(e, "migration %s: connecting", e->report.guest);
	return 0;
}

static void src_send_offer(struct mig_engine *e)
{
	const char *mode = gops(e)->dirty_mode(e->guest);
	struct mig_offer offer = {
		.migration_id = e->report.migration_id,
		.memory_mib = (uint32_t)(e->report.ram_bytes >> MIB_SHIFT),
		.page_size = MIG_PAGE_SIZE,
		.dirty_mode = (mode && strcmp(mode, "pml") == 0) ? MIG_DIRTY_PML : MIG_DIRTY_EPT_AD,
		.features = *gops(e)->cpu_features(e->guest),
	};

	fmt_snprintf(offer.name, sizeof(offer.name), "%s", e->report.guest);
	memcpy(offer.mac, gops(e)->mac(e->guest), MIG_MAC_BYTES);
	if (mig_src_offer(&e->proto.src, &offer))
		src_fail(e, MIG_OUTCOME_FAILED, FERR_INVAL, MIG_REASON_INTERNAL, "cannot build the offer");
}

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
	if (!e->bandwidth_bps)
		return UINT64_MAX;
	return bytes * (NS_PER_S / NS_PER_US) / e->bandwidth_bps * NS_PER_US;
}

static void begin_round(struct mig_engine *e, bool round0)
{
	e->round0 = round0;
	e->cursor = 0;
	e->round_start_ns = now(e);
	e->round_start_bytes = e->report.total_bytes;
	e->round_start_taken = taken_bytes(e);
	e->round_pages = e->round_zero = 0;
}

static void src_start_precopy(struct mig_engine *e)
{
	int err = gops(e)->dirty_start(e->guest);

	if (err) {
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot start dirty logging");
		return;
	}
	e->dirty_logging = true;
	memset(e->dirty_map, 0, sizeof(e->dirty_map));
	memset(e->send_map, 0, sizeof(e->send_map));
	e->phase = MIG_PHASE_PRECOPY;
	e->pace_start_ns = now(e);
	e->paced_bytes = 0;
	begin_round(e, true);
	say(e, "migration %s: pre-copy of %llu pages (%s)", e->report.guest,
	    (unsigned long long)e->pages, e->report.dirty_mode ? e->report.dirty_mode : "?");
}

/* Queues pages of the current round; true when the round has sent everything. */
static bool src_send_pages(struct mig_engine *e)
{
	const uint8_t *ram = gops(e)->ram(e->guest);
	unsigned budget = PAGES_PER_STEP;

	while (budget-- && pace_allowance(e) > 0) {
		uint64_t page = e->round0 ? e->cursor : bit_next(e->send_map, e->cursor, e->pages);
		if (page >= e->pages) {
			e->cursor = e->pages;
			return true;
		}
		if (!mig_src_has_room(&e->proto.src))
			return false;
		const uint8_t *data = ram + (page << MIG_PAGE_SHIFT);
		bool zero = mig_page_is_zero(data);
		if (mig_src_page(&e->proto.src, (uint32_t)page, zero ? NULL : data))
			return false;
		if (!e->round0)
			bit_clear(e->send_map, page);
		e->cursor = page + 1;
		e->round_pages++;
		e->round_zero += zero;
		e->report.pages++;
	}
	return e->cursor >= e->pages;
}

/* Closes the round in the report; false when ROUND_END could not be queued yet. */
static bool src_end_round(struct mig_engine *e, bool final)
{
	struct mig_round_end end;
	struct mig_round_stats *row;

	if (mig_src_round_end(&e->proto.src, final, &end))
		return false;
	row = round_row(e, end.round);
	row->round = end.round;
	row->final = final;
	row->pages += end.pages;
	row->zero_pages += e->round_zero;
	row->bytes += end.bytes;
	row->duration_ns += now(e) - e->round_start_ns;
	row->throttle = e->throttle;
	e->report.page_bytes += end.bytes;
	/*
	 * Bandwidth: what the peer took during the round (what entered a deep send buffer
	 * quickly is not what the link carries).
	 */
	uint64_t ns = now(e) - e->round_start_ns;
	uint64_t taken = taken_bytes(e) - e->round_start_taken;
	if (ns > NS_PER_MS && taken > 0)
		e->bandwidth_bps = taken * (NS_PER_S / NS_PER_US) / (ns / NS_PER_US);
	return true;
}

static void src_enter_stop_copy(struct mig_engine *e)
{
	long found;
	int err = gops(e)->pause(e->guest);

	if (err) {
		src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_INTERNAL, "cannot pause the guest");
		return;
	}
	e->paused_by_us = true;
	e->pause_ns = now(e);
	found = gops(e)->dirty_collect(e->guest, e->send_map);
	if (found < 0) {
		src_fail(e, MIG_OUTCOME_FAILED, (int)found, MIG_REASON_INTERNAL, "dirty collect failed");
		return;
	}
	e->phase = MIG_PHASE_STOP_COPY;
	e->final_round = true;
	e->sent_state = false;
	begin_round(e, false);
	say(e, "migration %s: stop-and-copy, %llu pages", e->report.guest,
	    (unsigned long long)bits_count(e->send_map, e->pages));
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
	uint64_t final_ns = transfer_ns(e, dirty * PAGE_WIRE_BYTES + VM_STATE_MAX_BYTES);
	uint64_t queue_ns = transfer_ns(e, queued_bytes(e));

	if (dirty != 0 && final_ns > target_ns)
		return false;
	if (!drained && queued_bytes(e) > 0 && queue_ns > target_ns / 4) {
		e->draining = true;
		e->drain_queued = queued_bytes(e);
		return true;
	}
	src_enter_stop_copy(e);
	return true;
}

/* Gives up when pre-copy has run into its bounds; true then. */
static bool src_past_bounds(struct mig_engine *e, uint32_t round, uint64_t dirty)
{
	uint64_t elapsed_ms = (now(e) - e->start_ns) / NS_PER_MS;

	if (round + 1 < e->params.max_rounds && elapsed_ms < e->params.max_time_ms)
		return false;
	char why[MIG_TEXT_MAX + 1];
	fmt_snprintf(why, sizeof(why), "not converged after %u rounds: %llu pages dirty, throttle %u%%",
		     round + 1, (unsigned long long)dirty, e->throttle);
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
	if (round > 0 && dirty * 100 > e->best_dirty * (100 - MIG_SHRINK_MIN_PCT))
		e->stall_rounds++;
	else if (round > 0)
		e->stall_rounds = 0;
	if (dirty < e->best_dirty)
		e->best_dirty = dirty;
	if (e->throttle) {
		e->throttle = e->throttle + MIG_THROTTLE_STEP > MIG_THROTTLE_MAX
			? MIG_THROTTLE_MAX : e->throttle + MIG_THROTTLE_STEP;
		gops(e)->set_throttle(e->guest, e->throttle);
	} else if (e->stall_rounds >= MIG_STALL_ROUNDS) {
		e->throttle = MIG_THROTTLE_FIRST;
		gops(e)->set_throttle(e->guest, e->throttle);
	}
	if (e->throttle > e->report.max_throttle)
		e->report.max_throttle = e->throttle;
}

/* The end of a pre-copy round: collect, then go on, throttle, stop-and-copy or give up. */
static void src_after_round(struct mig_engine *e, uint32_t round)
{
	long found;
	uint64_t dirty;

	memset(e->dirty_map, 0, sizeof(e->dirty_map));
	found = gops(e)->dirty_collect(e->guest, e->dirty_map);
	if (found < 0) {
		src_fail(e, MIG_OUTCOME_FAILED, (int)found, MIG_REASON_INTERNAL, "dirty collect failed");
		return;
	}
	dirty = bits_count(e->dirty_map, e->pages);
	round_row(e, round)->dirty_found = dirty;
	memcpy(e->send_map, e->dirty_map, sizeof(e->send_map));

	if (src_try_stop_copy(e, dirty, false) || src_past_bounds(e, round, dirty))
		return;
	src_converge(e, round, dirty);
	begin_round(e, false);
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

	if (q < e->drain_queued) {
		e->drain_queued = q;
		e->last_tx_ns = now(e);
	}
	if (q > 0 && transfer_ns(e, q) > target_ns / 4)
		return;
	e->draining = false;
	long found = gops(e)->dirty_collect(e->guest, e->send_map);
	if (found < 0) {
		src_fail(e, MIG_OUTCOME_FAILED, (int)found, MIG_REASON_INTERNAL, "dirty collect failed");
		return;
	}
	round_row(e, round)->dirty_found += (uint64_t)found;
	uint64_t dirty = bits_count(e->send_map, e->pages);
	if (src_try_stop_copy(e, dirty, true) || src_past_bounds(e, round, dirty))
		return;
	src_converge(e, round, dirty);
	begin_round(e, false);
}

static void src_progress(struct mig_engine *e)
{
	struct mig_progress p;
	uint64_t t = now(e), interval = t - e->last_progress_ns;

	if (!e->env.progress || interval < PROGRESS_INTERVAL_NS)
		return;
	p.guest = e->report.guest;
	p.role = MIG_ROLE_SOURCE;
	p.round = e->proto.src.round;
	p.remaining_pages = e->round0 ? e->pages - e->cursor : bits_count(e->send_map, e->pages);
	p.rate_kbps = (e->report.total_bytes - e->progress_bytes) * (NS_PER_S / NS_PER_MS) /
		      (interval / NS_PER_MS) / 1000;
	p.eta_ms = p.rate_kbps ? p.remaining_pages * PAGE_WIRE_BYTES / p.rate_kbps : 0;
	p.throttle = e->throttle;
	e->env.progress(e->env.ctx, &p);
	e->last_progress_ns = t;
	e->progress_bytes = e->report.total_bytes;
}

static void src_event(struct mig_engine *e, const struct mig_src_event *ev)
{
	char why[MIG_TEXT_MAX + 40];

	switch (ev->kind) {
	case MIG_SRC_EV_AUTHENTICATED:
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
		if (mig_src_go(&e->proto.src) == 0) {
			e->go_sent = true;
			e->phase_ns = now(e);
		}
		break;
	case MIG_SRC_EV_RESUMED:
		e->report.downtime_src_ns = now(e) - e->pause_ns;
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
	}
}

/* After GO: a lost peer or a timeout leaves the guest paused here until resolved. */
static void src_in_doubt(struct mig_engine *e, int err, const char *why)
{
	set_reason(e, err, why);
	close_conn(e, false);
	say(e, "migration %s: IN DOUBT, guest kept paused here: %s", e->report.guest, why);
	finish(e, MIG_OUTCOME_IN_DOUBT);
}

static void src_complete(struct mig_engine *e)
{
	close_conn(e, true);
	e->dirty_logging = false;   /* the guest goes away with its logging */
	gops(e)->set_migrating(e->guest, false);
	gops(e)->destroy(e->guest);
	e->guest = NULL;
	mig_src_fini(&e->proto.src);
	set_reason(e, 0, "");
	finish(e, MIG_OUTCOME_COMPLETED);
}

static int src_pump_in(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;

	for (int i = 0; i < READS_PER_STEP && e->phase != MIG_PHASE_FINISHED; i++) {
		long n = t->read(e->conn, e->rx, sizeof(e->rx));
		size_t at = 0;
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		e->report.total_bytes += (uint64_t)n;
		e->last_rx_ns = now(e);
		while (at < (size_t)n && e->phase != MIG_PHASE_FINISHED) {
			struct mig_src_event ev;
			size_t used;
			int rc = mig_src_input(&e->proto.src, e->rx + at, (size_t)n - at, &used, &ev);
			at += used;
			if (rc < 0) {
				if (e->go_sent)
					src_in_doubt(e, rc, e->proto.src.error);
				else
					src_fail(e, MIG_OUTCOME_FAILED, rc, MIG_REASON_PROTOCOL,
						 e->proto.src.error);
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

static void src_step(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	uint64_t t_now = now(e);
	int err;

	if (e->cancel_requested && !e->go_sent) {
		src_fail(e, MIG_OUTCOME_CANCELLED, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	if (e->phase == MIG_PHASE_CONNECTING) {
		if (t->error(e->conn)) {
			src_fail(e, MIG_OUTCOME_FAILED, t->error(e->conn), MIG_REASON_NONE,
				 "no migration listener at the destination");
			return;
		}
		if (!t->connected(e->conn)) {
			if (t_now - e->start_ns > (uint64_t)e->params.connect_timeout_ms * NS_PER_MS)
				src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_NONE,
					 "destination did not answer the connection");
			return;
		}
		e->phase = MIG_PHASE_HANDSHAKE;
		e->last_rx_ns = t_now;
	}

	err = src_pump_in(e);
	if (e->phase == MIG_PHASE_FINISHED)
		return;
	if (e->destination_running) {
		src_complete(e);
		return;
	}
	if (!err)
		err = pump_out(e);
	if (err) {
		if (e->go_sent)
			src_in_doubt(e, err, "connection lost after GO");
		else
			src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
				 "connection to the destination lost");
		return;
	}

	switch (e->phase) {
	case MIG_PHASE_PRECOPY:
		if ((now(e) - e->start_ns) / NS_PER_MS >= e->params.max_time_ms) {
			src_fail(e, MIG_OUTCOME_ABANDONED, FERR_TIMEOUT, MIG_REASON_NOT_CONVERGED,
				 "pre-copy exceeded its time bound");
			return;
		}
		if (e->draining)
			src_drain(e);
		else if (src_send_pages(e) && src_end_round(e, false))
			src_after_round(e, e->proto.src.round - 1);
		src_progress(e);
		break;
	case MIG_PHASE_STOP_COPY:
		if (!e->sent_state) {
			if (!src_send_pages(e) || !src_end_round(e, true))
				break;
			long len = gops(e)->state_save(e->guest, e->state_blob, sizeof(e->state_blob));
			if (len <= 0) {
				src_fail(e, MIG_OUTCOME_FAILED, len ? (int)len : FERR_INVAL,
					 MIG_REASON_INTERNAL, "cannot save the guest state");
				return;
			}
			e->state_len = (size_t)len;
			e->sent_state = true;
		}
		if (mig_src_state(&e->proto.src, e->state_blob, e->state_len) == FERR_BUSY)
			break;
		if (mig_src_done(&e->proto.src) == 0) {
			e->phase = MIG_PHASE_SWITCHOVER;
			e->phase_ns = now(e);
			e->last_rx_ns = now(e);
		}
		break;
	case MIG_PHASE_SWITCHOVER:
		/* READY came while GO did not fit in the output yet. */
		if (e->proto.src.state == MIG_SRC_READY && mig_src_go(&e->proto.src) == 0)
			e->go_sent = true;
		break;
	default:
		break;
	}
	if (e->phase == MIG_PHASE_FINISHED)
		return;
	err = pump_out(e);
	if (err) {
		if (e->go_sent)
			src_in_doubt(e, err, "connection lost after GO");
		else
			src_fail(e, MIG_OUTCOME_FAILED, err, MIG_REASON_NONE,
				 "connection to the destination lost");
		return;
	}
	uint64_t timeout_ns = (uint64_t)e->params.reply_timeout_ms * NS_PER_MS;
	uint64_t last_io_ns = e->last_tx_ns > e->last_rx_ns ? e->last_tx_ns : e->last_rx_ns;
	if ((e->phase == MIG_PHASE_PRECOPY || e->phase == MIG_PHASE_STOP_COPY) &&
	    now(e) - last_io_ns > timeout_ns) {
		src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
			 "destination stopped reading the stream");
		return;
	}
	if (now(e) - e->last_rx_ns > timeout_ns &&
	    (e->phase == MIG_PHASE_HANDSHAKE || e->phase == MIG_PHASE_SWITCHOVER)) {
		if (e->go_sent)
			src_in_doubt(e, FERR_TIMEOUT, "no RESUMED from the destination after GO");
		else
			src_fail(e, MIG_OUTCOME_FAILED, FERR_TIMEOUT, MIG_REASON_TIMEOUT,
				 "destination stopped answering");
	}
}

/* ---- destination ----------------------------------------------------------------------- */

static void dst_discard(struct mig_engine *e)
{
	if (!e->guest)
		return;
	gops(e)->set_migrating(e->guest, false);
	gops(e)->discard(e->guest);
	e->guest = NULL;
	e->ram = NULL;
}

static void dst_fail(struct mig_engine *e, int err, unsigned reason, const char *why)
{
	set_reason(e, err, why);
	if (e->conn && reason != MIG_REASON_NONE && mig_dst_abort(&e->proto.dst, reason, why) == 0)
		pump_out(e);
	else if (e->conn)
		pump_out(e);
	close_conn(e, true);
	dst_discard(e);
	mig_dst_fini(&e->proto.dst);
	finish(e, MIG_OUTCOME_FAILED);
}

static bool dst_memory_available(void *ctx, uint64_t memory_mib)
{
	struct mig_engine *e = ctx;
	return gops(e)->memory_available(e->env.ctx, memory_mib);
}

static bool dst_name_free(void *ctx, const char *name)
{
	struct mig_engine *e = ctx;
	return gops(e)->name_free(e->env.ctx, name);
}

int mig_dest_start(struct mig_engine *e, const struct mig_env *env, void *conn)
{
	uint8_t nonce[MIG_NONCE_BYTES];
	struct mig_dst_checks checks = {
		.memory_available = dst_memory_available, .name_free = dst_name_free, .ctx = e,
	};
	int err;

	memset(&e->report, 0, sizeof(e->report));
	e->role = MIG_ROLE_DEST;
	e->report.role = MIG_ROLE_DEST;
	e->env = *env;
	mig_params_defaults(&e->params);
	e->guest = NULL;
	e->ram = NULL;
	e->conn = conn;
	e->start_ns = e->phase_ns = e->last_rx_ns = e->last_precopy_ns = now(e);
	e->go_sent = e->cancel_requested = e->destination_running = false;
	e->announce_next = 0;
	e->state_len = 0;
	e->paced_bytes = 0;
	e->tx_bytes = 0;
	e->rx_start = e->rx_end = 0;
	e->round_start_ns = e->start_ns;
	e->round_zero = 0;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "(incoming)");
	gops(e)->host_cpu_features(env->ctx, &checks.host_features);
	err = env->random(env->ctx, nonce, sizeof(nonce));
	mig_dst_init(&e->proto.dst, env->key, env->key ? env->key_len : 0, nonce, &checks);
	e->phase = MIG_PHASE_HANDSHAKE;
	e->report.outcome = MIG_OUTCOME_RUNNING;
	if (err) {
		dst_fail(e, err, MIG_REASON_INTERNAL, "no entropy source for the handshake nonce");
		return err;
	}
	if (!env->key || env->key_len == 0)
		say(e, "incoming migration: refused, no migration_key in ferry.cfg");
	return 0;
}

static void dst_offer(struct mig_engine *e)
{
	const struct mig_offer *o = &e->proto.dst.offer;
	const char *why = "cannot create the guest shell";
	void *guest = NULL;
	int err;

	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", o->name);
	e->report.migration_id = o->migration_id;
	e->report.ram_bytes = (uint64_t)o->memory_mib << MIB_SHIFT;
	e->report.dirty_mode = o->dirty_mode == MIG_DIRTY_PML ? "pml" : "ept-ad";
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	err = gops(e)->create_incoming(e->env.ctx, o->name, o->memory_mib, o->mac, &guest, &why);
	if (err) {
		char text[MIG_TEXT_MAX + 1];
		fmt_snprintf(text, sizeof(text), "%s", why ? why : err_name(err));
		mig_dst_refuse(&e->proto.dst, err == FERR_NOMEM ? MIG_REASON_MEMORY
			       : err == FERR_EXIST ? MIG_REASON_NAME : MIG_REASON_INTERNAL, text);
		dst_fail(e, err, MIG_REASON_NONE, text);
		return;
	}
	e->guest = guest;
	e->ram = gops(e)->ram(guest);
	gops(e)->set_migrating(guest, true);
	mig_dst_accept(&e->proto.dst);
	e->phase = MIG_PHASE_PRECOPY;
	e->round_start_ns = now(e);
	say(e, "incoming migration of %s (%u MiB): accepted", o->name, o->memory_mib);
}

static void dst_round_end(struct mig_engine *e, const struct mig_round_end *r)
{
	struct mig_round_stats *row = round_row(e, r->round);

	row->round = r->round;
	row->final = r->flags & MIG_ROUND_FINAL;
	row->pages += r->pages;
	row->zero_pages += e->round_zero;
	row->bytes += r->bytes;
	row->duration_ns += now(e) - e->round_start_ns;
	e->report.page_bytes += r->bytes;
	e->round_start_ns = now(e);
	e->round_zero = 0;
	if (row->final)
		e->phase = MIG_PHASE_STOP_COPY;
	else
		e->last_precopy_ns = now(e);
}

static void dst_verified(struct mig_engine *e)
{
	const char *why = "state refused";
	int err = gops(e)->state_load(e->guest, e->state_blob, e->state_len, &why);

	if (err) {
		char text[MIG_TEXT_MAX + 1];
		fmt_snprintf(text, sizeof(text), "guest state refused: %s", why ? why : err_name(err));
		dst_fail(e, err, MIG_REASON_STATE, text);
		return;
	}
	mig_dst_ready(&e->proto.dst);
	e->phase = MIG_PHASE_SWITCHOVER;
}

static void dst_go(struct mig_engine *e)
{
	int err = gops(e)->resume(e->guest);

	if (err) {
		/* It never ran here: ABORT tells the source to resume its paused copy. */
		dst_fail(e, err, MIG_REASON_INTERNAL, "the guest could not be started on the destination");
		return;
	}
	e->resume_ns = now(e);
	e->report.downtime_dst_ns = e->resume_ns - e->last_precopy_ns;
	gops(e)->set_migrating(e->guest, false);
	mig_dst_resumed(&e->proto.dst, e->report.downtime_dst_ns);
	e->destination_running = true;
	e->phase = MIG_PHASE_ANNOUNCE;
	e->announce_next = 0;
	say(e, "incoming migration of %s: running here", e->report.guest);
}

static void dst_event(struct mig_engine *e, const struct mig_dst_event *ev)
{
	char why[MIG_TEXT_MAX + 40];

	switch (ev->kind) {
	case MIG_DST_EV_OFFER:
		dst_offer(e);
		break;
	case MIG_DST_EV_PAGE: {
		uint8_t *page = e->ram + ((uint64_t)ev->page << MIG_PAGE_SHIFT);
		if (ev->data)
			memcpy(page, ev->data, MIG_PAGE_SIZE);
		else
			memset(page, 0, MIG_PAGE_SIZE);
		e->report.pages++;
		e->round_zero += !ev->data;
		break;
	}
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
		dst_go(e);
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

/* Reads and feeds input to the protocol; 0 or the transport's error. */
static int dst_pump_in(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	int reads = 0;

	while (e->phase != MIG_PHASE_FINISHED) {
		struct mig_dst_event ev;
		size_t used;
		int rc;

		if (e->rx_start == e->rx_end) {
			long n;
			if (reads++ == READS_PER_STEP)
				return 0;
			n = t->read(e->conn, e->rx, sizeof(e->rx));
			if (n < 0)
				return (int)n;
			e->rx_start = 0;
			e->rx_end = (size_t)n;
			if (n > 0) {
				e->report.total_bytes += (uint64_t)n;
				e->last_rx_ns = now(e);
			}
		}
		rc = mig_dst_input(&e->proto.dst, e->rx + e->rx_start, e->rx_end - e->rx_start,
				   &used, &ev);
		e->rx_start += used;
		if (rc < 0) {
			dst_fail(e, rc, MIG_REASON_NONE, e->proto.dst.error);
			return 0;
		}
		if (rc == 1) {
			dst_event(e, &ev);
			continue;
		}
		if (used == 0 && e->rx_start != e->rx_end)
			return 0;   /* the machine waits for us (never the case after dst_event) */
		if (e->rx_start == e->rx_end && t->readable && t->readable(e->conn) == 0)
			return 0;
	}
	return 0;
}

static void dst_announce(struct mig_engine *e)
{
	uint8_t frame[RARP_FRAME_BYTES];
	const uint8_t *mac = e->proto.dst.offer.mac;

	while (e->announce_next < RARP_ANNOUNCE_COUNT &&
	       now(e) - e->resume_ns >= (uint64_t)rarp_announce_ms[e->announce_next] * NS_PER_MS) {
		if (e->env.send_raw_frame) {
			size_t len = rarp_build_announce(frame, mac);
			e->env.send_raw_frame(e->env.ctx, frame, len);
		}
		e->announce_next++;
	}
	if (e->announce_next == RARP_ANNOUNCE_COUNT && (!e->conn || output_drained(e))) {
		close_conn(e, true);
		mig_dst_fini(&e->proto.dst);
		finish(e, MIG_OUTCOME_COMPLETED);
	}
}

static void dst_step(struct mig_engine *e)
{
	int err;

	if (e->phase == MIG_PHASE_ANNOUNCE) {
		/* The guest runs here now: a lost connection changes nothing. */
		if (e->conn && (e->env.transport_ops->error(e->conn) || pump_out(e)))
			close_conn(e, false);
		dst_announce(e);
		return;
	}
	if (e->cancel_requested) {
		dst_fail(e, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	err = dst_pump_in(e);
	if (e->phase == MIG_PHASE_FINISHED)
		return;
	if (!err)
		err = pump_out(e);
	if (err && e->phase == MIG_PHASE_ANNOUNCE) {
		close_conn(e, false);
		return;
	}
	if (err) {
		dst_fail(e, err, MIG_REASON_NONE, "connection to the source lost");
		return;
	}
	if (e->phase != MIG_PHASE_ANNOUNCE &&
	    now(e) - e->last_rx_ns > (uint64_t)e->params.reply_timeout_ms * NS_PER_MS)
		dst_fail(e, FERR_TIMEOUT, MIG_REASON_TIMEOUT, "source stopped sending");
	else if (e->phase == MIG_PHASE_ANNOUNCE)
		dst_announce(e);
}

/* ---- common -------------------------------------------------------------------------------- */

bool mig_engine_step(struct mig_engine *e)
{
	if (e->phase == MIG_PHASE_FINISHED || e->phase == MIG_PHASE_IDLE)
		return false;
	if (e->role == MIG_ROLE_SOURCE)
		src_step(e);
	else
		dst_step(e);
	return e->phase != MIG_PHASE_FINISHED;
}

int mig_engine_cancel(struct mig_engine *e, const char *why)
{
	if (e->phase == MIG_PHASE_FINISHED || e->phase == MIG_PHASE_IDLE)
		return FERR_INVAL;
	if (e->go_sent || e->destination_running)
		return FERR_BUSY;
	e->cancel_requested = true;
	fmt_snprintf(e->cancel_reason, sizeof(e->cancel_reason), "%s", why ? why : "cancelled");
	return 0;
}

int mig_engine_resolve(struct mig_engine *e, bool dest_runs)
{
	if (e->role != MIG_ROLE_SOURCE || e->report.outcome != MIG_OUTCOME_IN_DOUBT || !e->guest)
		return FERR_INVAL;
	if (dest_runs) {
		gops(e)->set_migrating(e->guest, false);
		gops(e)->destroy(e->guest);
		e->guest = NULL;
		e->report.outcome = MIG_OUTCOME_COMPLETED;
		set_reason(e, 0, "resolved: the guest runs on the destination");
	} else {
		src_restore_guest(e);
		e->report.outcome = MIG_OUTCOME_FAILED;
		set_reason(e, FERR_IO, "resolved: the destination never ran the guest; resumed here");
	}
	mig_src_fini(&e->proto.src);
	return 0;
}

const struct mig_report *mig_engine_report(const struct mig_engine *e)
{
	return &e->report;
}

bool mig_engine_finished(const struct mig_engine *e)
{
	return e->phase == MIG_PHASE_FINISHED;
}

void *mig_engine_guest(const struct mig_engine *e)
{
	return e->guest;
}
