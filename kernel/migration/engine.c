/*
 * The migration engine's plumbing (engine.h, engine_internal.h): what the source
 * (engine_src.c) and the destination (engine_dst.c) share. The clock and the log,
 * the common start, the report's rounds and its end, the transport pumped from the
 * protocol's writer under the bandwidth limit, and the public entry points that
 * do not depend on the role (step and cancel dispatch, queries, phase names).
 * Portable; no I/O but through the env's ops.
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

size_t mig_engine_size(void)
{
	return sizeof(struct mig_engine);
}

size_t mig_engine_buffers_size(enum mig_role role)
{
	return role == MIG_ROLE_SOURCE ? sizeof(struct mig_src_buffers) : sizeof(struct mig_dst_buffers);
}

uint64_t mig_now(const struct mig_engine *e)
{
	return e->env.now_ns(e->env.ctx);
}

void mig_say(struct mig_engine *e, const char *fmt, ...)
{
	char line[MIG_SAY_MAX];
	va_list ap;

	if (!e->env.log)
		return;
	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->env.log(e->env.ctx, line);
}

const char *mig_phase_name(enum mig_engine_phase phase)
{
	static const char *const names[] = {
		[MIG_PHASE_IDLE] = "idle", [MIG_PHASE_CONNECTING] = "connecting",
		[MIG_PHASE_HANDSHAKE] = "handshake", [MIG_PHASE_PRECOPY] = "pre-copy",
		[MIG_PHASE_STOP_COPY] = "stop-and-copy", [MIG_PHASE_SWITCHOVER] = "switchover",
		[MIG_PHASE_ANNOUNCE] = "announce", [MIG_PHASE_VERIFY] = "verify",
		[MIG_PHASE_IN_DOUBT] = "in-doubt", [MIG_PHASE_ANSWER] = "answer",
		[MIG_PHASE_FINISHED] = "finished",
	};
	return phase <= MIG_PHASE_FINISHED ? names[phase] : "unknown";
}

void mig_params_defaults(struct mig_params *p)
{
	p->downtime_ms = MIG_DEFAULT_DOWNTIME_MS;
	p->verify = MIG_DEFAULT_VERIFY;
	p->bandwidth_mbps = 0;
	p->max_rounds = MIG_DEFAULT_MAX_ROUNDS;
	p->max_time_ms = MIG_DEFAULT_MAX_TIME_MS;
	p->connect_timeout_ms = MIG_DEFAULT_CONNECT_TIMEOUT_MS;
	p->reply_timeout_ms = MIG_DEFAULT_REPLY_TIMEOUT_MS;
	p->handshake_timeout_ms = MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS;
	p->max_paused_ms = MIG_DEFAULT_MAX_PAUSED_MS;
}

void mig_engine_begin(struct mig_engine *e, enum mig_role role, const struct mig_env *env)
{
	memset(&e->report, 0, sizeof(e->report));
	e->role = role;
	e->report.role = role;
	e->phase = MIG_PHASE_IDLE;
	e->kind = role == MIG_ROLE_SOURCE ? MIG_KIND_MIGRATION : MIG_KIND_UNDECIDED;
	e->authenticated = false;
	e->env = *env;
	mig_params_defaults(&e->params);
	e->guest = NULL;
	e->conn = NULL;
	e->pages = 0;
	e->start_ns = mig_now(e);
	e->last_rx_ns = e->last_tx_ns = e->pace_start_ns = e->round_start_ns = e->start_ns;
	e->tx_bytes = e->paced_bytes = e->round_zero = 0;
	e->rx_messages = 0;
	e->go_sent = e->destination_running = e->cancel_requested = false;
	e->hash = MIG_HASH_CRC32C;
	e->rx = e->small_rx;
	e->rx_cap = sizeof(e->small_rx);
	e->state_blob = NULL;
	e->state_len = 0;
}

void *mig_get_buffers(struct mig_engine *e)
{
	return e->env.buffers ? e->env.buffers(e->env.ctx, mig_engine_buffers_size(e->role)) : NULL;
}

/* ---- the report -------------------------------------------------------------------- */

void mig_set_reason(struct mig_engine *e, int err, const char *why)
{
	e->report.err = err;
	fmt_snprintf(e->report.reason, sizeof(e->report.reason), "%s", why ? why : "");
}

struct mig_round_stats *mig_round_row(struct mig_engine *e, uint32_t round)
{
	uint32_t row = round < MIG_REPORT_MAX_ROUNDS ? round : MIG_REPORT_MAX_ROUNDS - 1;

	if (round >= e->report.rounds)
		e->report.rounds = round + 1;
	return &e->report.round[row];
}

struct mig_round_stats *mig_report_round(struct mig_engine *e, const struct mig_round_end *end)
{
	struct mig_round_stats *row = mig_round_row(e, end->round);

	row->round = end->round;
	row->final = end->flags & MIG_ROUND_FINAL;
	row->pages += end->pages;
	row->zero_pages += e->round_zero;
	row->bytes += end->bytes;
	row->duration_ns += mig_now(e) - e->round_start_ns;
	e->report.page_bytes += end->bytes;
	return row;
}

void mig_finish(struct mig_engine *e, enum mig_outcome outcome)
{
	e->report.outcome = outcome;
	e->report.total_ns = mig_now(e) - e->start_ns;
	if (e->report.total_ns)
		e->report.throughput_kbps = e->report.page_bytes * (NS_PER_S / NS_PER_US) /
					    (e->report.total_ns / NS_PER_US + 1) / KB_DECIMAL;
	e->phase = MIG_PHASE_FINISHED;
	mig_say(e, "migration %s: %s%s%s", e->report.guest, mig_outcome_name(outcome),
		e->report.reason[0] ? ": " : "", e->report.reason);
}

/* ---- transport pumping --------------------------------------------------------------- */

static size_t pending(const struct mig_engine *e, const uint8_t **data)
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

uint64_t mig_pace_allowance(struct mig_engine *e)
{
	uint64_t bytes_per_s = (uint64_t)e->params.bandwidth_mbps * MB_DECIMAL;
	uint64_t elapsed_us, allowed;

	/* The cap paces the guest's pages; a source's last words (ABORT) go out at once. */
	if (!bytes_per_s || e->role != MIG_ROLE_SOURCE || e->proto.src.state == MIG_SRC_CLOSED)
		return UINT64_MAX;
	elapsed_us = (mig_now(e) - e->pace_start_ns) / NS_PER_US;
	allowed = elapsed_us * bytes_per_s / US_PER_S;
	return allowed > e->paced_bytes ? allowed - e->paced_bytes : 0;
}

/*
 * While the source's guest stands still, every byte is downtime until it is applied at
 * the other end, so the transport gets the bytes a piece at a time (one PAGES message of
 * the stop-and-copy's batch size, engine_precopy.c): a TLS channel makes a record of each
 * write up to 16 KiB, and a record leaves only once it is whole and is read only once it
 * has all arrived. The same choice as TLS dynamic record sizing: small records where
 * latency counts, full ones where throughput does.
 */
static size_t paused_write_bytes(const struct mig_engine *e)
{
	if (e->role != MIG_ROLE_SOURCE || !mig_engine_guest_down(e))
		return SIZE_MAX;
	return MIG_HEADER_BYTES + (size_t)e->proto.src.batch_pages_max * MIG_PAGE_WIRE_BYTES;
}

int mig_pump_out(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	const uint8_t *data;
	size_t len, piece = paused_write_bytes(e);
	bool wrote = false;

	while ((len = pending(e, &data)) > 0) {
		uint64_t allowance = mig_pace_allowance(e);
		size_t room = t->writable(e->conn);
		if (len > room)
			len = room;
		if (len > piece)
			len = piece;
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
		wrote = true;
		if (e->phase == MIG_PHASE_IN_DOUBT)
			continue;   /* a query's bytes are not the migration's */
		e->last_tx_ns = mig_now(e);
		e->tx_bytes += (uint64_t)n;
		e->paced_bytes += (uint64_t)n;
		e->report.total_bytes += (uint64_t)n;
	}
	if (wrote && t->flush)
		t->flush(e->conn);
	return t->error(e->conn);
}

bool mig_output_drained(const struct mig_engine *e)
{
	const uint8_t *data;

	return pending(e, &data) == 0;
}

long mig_read(struct mig_engine *e)
{
	long n = e->env.transport_ops->read(e->conn, e->rx, e->rx_cap);

	if (n > 0 && e->phase != MIG_PHASE_IN_DOUBT)
		e->report.total_bytes += (uint64_t)n;
	return n;
}

bool mig_reply_overdue(const struct mig_engine *e, uint64_t since_ns)
{
	return mig_now(e) - since_ns > (uint64_t)e->params.reply_timeout_ms * NS_PER_MS;
}

const char *mig_transport_why(const struct mig_engine *e, const char *fallback)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	const char *why = e->conn && t->why ? t->why(e->conn) : NULL;

	return why ? why : fallback;
}

bool mig_handshake_overdue(const struct mig_engine *e, uint64_t since_ns)
{
	return mig_now(e) - since_ns > (uint64_t)e->params.handshake_timeout_ms * NS_PER_MS;
}

/*
 * Liveness is counted in verified messages: a peer that trickles bytes, or sends
 * bytes that never make a message, is as silent as one that sends nothing.
 */
void mig_note_messages(struct mig_engine *e, uint64_t reader_messages)
{
	if (reader_messages != e->rx_messages) {
		e->rx_messages = reader_messages;
		e->last_rx_ns = mig_now(e);
	}
}

void mig_close_conn(struct mig_engine *e, bool graceful)
{
	if (!e->conn)
		return;
	if (graceful)
		e->env.transport_ops->close(e->conn);
	else
		e->env.transport_ops->abort(e->conn);
	e->conn = NULL;
}

/* ---- the public entry points of both roles ------------------------------------------- */

bool mig_engine_step(struct mig_engine *e)
{
	if (e->phase == MIG_PHASE_FINISHED || e->phase == MIG_PHASE_IDLE)
		return false;
	e->role_step(e);
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

const struct mig_report *mig_engine_report(const struct mig_engine *e)
{
	return &e->report;
}

bool mig_engine_finished(const struct mig_engine *e)
{
	return e->phase == MIG_PHASE_FINISHED;
}

enum mig_engine_phase mig_engine_phase(const struct mig_engine *e)
{
	return e->phase;
}

bool mig_engine_guest_down(const struct mig_engine *e)
{
	return e->kind == MIG_KIND_MIGRATION &&
	       (e->phase == MIG_PHASE_STOP_COPY || e->phase == MIG_PHASE_SWITCHOVER);
}

struct vm *mig_engine_guest(const struct mig_engine *e)
{
	return e->guest;
}

bool mig_engine_authenticated(const struct mig_engine *e)
{
	return e->authenticated;
}

enum mig_engine_kind mig_engine_kind(const struct mig_engine *e)
{
	return e->kind;
}

enum mig_answer mig_answer_of_report(const struct mig_report *r)
{
	return r->outcome == MIG_OUTCOME_COMPLETED ? MIG_ANSWER_RAN : MIG_ANSWER_NEVER_RAN;
}
