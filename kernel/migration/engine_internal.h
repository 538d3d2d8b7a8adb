/*
 * Inside the migration engine: struct mig_engine and what its three files share.
 * engine.c is the plumbing both roles use (clock and log, the report, transport
 * pumping and pacing, the step, cancel and query entry points); engine_src.c and
 * engine_dst.c are the two roles, each keeping its own state in its part of the
 * engine and reaching the other role's only through the plumbing. Nothing outside
 * kernel/migration/engine*.c includes this but the engine's white-box host test.
 * Portable.
 */
#ifndef FERRY_MIGRATION_ENGINE_INTERNAL_H
#define FERRY_MIGRATION_ENGINE_INTERNAL_H

#include <stdarg.h>

#include "kernel/lib/units.h"
#include "kernel/migration/engine.h"
#include "kernel/migration/proto.h"

/* Guest RAM the engine can move: the bitmaps are sized for VM_MAX_MEMORY_MIB. */
#define MIG_MAX_PAGES ((uint64_t)VM_MAX_MEMORY_MIB << (MIB_SHIFT - MIG_PAGE_SHIFT))
#define MIG_BITMAP_WORDS (MIG_MAX_PAGES / 64)
/* One page on the wire: its record header and its data. */
#define MIG_PAGE_WIRE_BYTES (MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE)
/* Transport reads in one step: a step must stay short (the console and the NIC share the poller). */
#define MIG_READS_PER_STEP 8
#define MIG_RX_BYTES 16384

/* The source's part (engine_src.c). */
struct mig_engine_src {
	bool dirty_logging, paused_by_us;
	uint64_t pause_ns;
	uint64_t cursor;                 /* next page to consider in this round */
	bool round0;                     /* round 0 walks all of RAM, later rounds send_map */
	bool sent_state;                 /* stop-and-copy: the state blob is saved */
	uint64_t best_dirty;             /* the smallest dirty set so far */
	uint32_t stall_rounds;
	unsigned throttle;
	uint64_t bandwidth_bps;          /* measured, bytes per second */
	uint64_t round_start_taken;      /* tx_bytes - unacked at the round's start */
	bool draining;                   /* the last dirty set fits; waiting for the queue to drain */
	uint64_t drain_queued;           /* unacked when last looked at while draining */
	uint64_t last_progress_ns, progress_bytes;
	uint64_t send_map[MIG_BITMAP_WORDS];  /* pages to send in this round */
	uint64_t dirty_map[MIG_BITMAP_WORDS]; /* pages found dirty by collect */
};

/* The destination's part (engine_dst.c). */
struct mig_engine_dst {
	uint8_t *ram;                    /* the shell's RAM, once created */
	uint64_t last_precopy_ns;        /* the last pre-copy round's end: the downtime's start */
	uint64_t resume_ns;
	uint32_t announce_next;          /* RARP frames sent */
	size_t rx_start, rx_end;         /* input in rx not yet fed to the protocol */
};

struct mig_engine {
	enum mig_role role;
	void (*role_step)(struct mig_engine *e);   /* the role's step, set by its start */
	enum mig_engine_phase phase;
	struct mig_env env;
	struct mig_params params;
	struct vm *guest;                /* the source's guest, or the destination's shell */
	struct tcp_stream *conn;         /* NULL once closed */
	uint64_t pages;                  /* guest pages */
	uint64_t start_ns, last_rx_ns, last_tx_ns;
	uint64_t tx_bytes;               /* every byte written to the transport */
	uint64_t pace_start_ns, paced_bytes;   /* the bandwidth limit's account */
	uint64_t round_start_ns, round_zero;   /* the round being sent or received */
	bool go_sent;                    /* source: the guest is handed over unless the peer aborts */
	bool destination_running;        /* the guest runs on the destination */
	bool cancel_requested;
	char cancel_reason[MIG_TEXT_MAX + 1];
	union {
		struct mig_engine_src src;
		struct mig_engine_dst dst;
	};
	union {
		struct mig_src src;
		struct mig_dst dst;
	} proto;
	uint8_t rx[MIG_RX_BYTES];
	uint8_t state_blob[VM_SNAPSHOT_MAX_BYTES];
	size_t state_len;
	struct mig_report report;
};

/* ---- engine.c: the plumbing ---------------------------------------------------------- */

static inline const struct mig_guest_ops *mig_gops(const struct mig_engine *e)
{
	return e->env.guest_ops;
}

uint64_t mig_now(const struct mig_engine *e);
/* A log line through env->log (none without one). */
void mig_say(struct mig_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The common start of both roles: the report cleared, env, default params, clocks; no guest or conn yet. */
void mig_engine_begin(struct mig_engine *e, enum mig_role role, const struct mig_env *env);
void mig_set_reason(struct mig_engine *e, int err, const char *why);
/* Ends the migration with this outcome: totals, the phase, the log line. */
void mig_finish(struct mig_engine *e, enum mig_outcome outcome);
/*
 * Adds a round as its ROUND_END summed it up to the report (with the zero pages
 * counted in round_zero since round_start_ns); returns the row for the role's
 * own figures.
 */
struct mig_round_stats *mig_report_round(struct mig_engine *e, const struct mig_round_end *end);
struct mig_round_stats *mig_round_row(struct mig_engine *e, uint32_t round);

/* Bytes the bandwidth limit allows to be written now (UINT64_MAX: no limit). */
uint64_t mig_pace_allowance(struct mig_engine *e);
/* Writes what the protocol queued; 0 or the transport's error. */
int mig_pump_out(struct mig_engine *e);
bool mig_output_drained(const struct mig_engine *e);
/* One read into rx: the byte count (0: nothing yet) or the transport's error. */
long mig_read(struct mig_engine *e);
/* True when the peer has said nothing for reply_timeout_ms since `since_ns`. */
bool mig_reply_overdue(const struct mig_engine *e, uint64_t since_ns);
/* What the transport says its error was (mig_transport_ops.why), else `fallback`. */
const char *mig_transport_why(const struct mig_engine *e, const char *fallback);
void mig_close_conn(struct mig_engine *e, bool graceful);


#endif
