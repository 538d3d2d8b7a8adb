/*
 * Inside the migration engine: struct mig_engine and what its files share. engine.c
 * is the plumbing both roles use (clock and log, the report, transport pumping and
 * pacing, the step, cancel and query entry points); engine_src.c (with its rounds,
 * estimates and stop-and-copy in engine_precopy.c) and engine_dst.c are the two roles,
 * each keeping its own state in its part of the engine and reaching the other role's
 * only through the plumbing; engine_digest.c is the memory digest of both. Nothing
 * outside kernel/migration/engine*.c includes this but the engine's white-box host
 * test. Portable.
 */
#ifndef FERRY_MIGRATION_ENGINE_INTERNAL_H
#define FERRY_MIGRATION_ENGINE_INTERNAL_H

#include <stdarg.h>

#include "kernel/lib/units.h"
#include "kernel/migration/converge.h"
#include "kernel/migration/digest.h"
#include "kernel/migration/engine.h"
#include "kernel/migration/link.h"
#include "kernel/migration/proto.h"

/* Guest RAM the engine can move: the bitmaps are sized for VM_MAX_MEMORY_MIB. */
#define MIG_MAX_PAGES ((uint64_t)VM_MAX_MEMORY_MIB << (MIB_SHIFT - MIG_PAGE_SHIFT))
#define MIG_BITMAP_WORDS (MIG_MAX_PAGES / 64)
#define MIG_BITMAP_BYTES (MIG_BITMAP_WORDS * sizeof(uint64_t))
/* One page on the wire: its record header and its data. */
#define MIG_PAGE_WIRE_BYTES (MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE)
/* Transport reads in one step: a step must stay short (the console and the NIC share the poller). */
#define MIG_READS_PER_STEP 8
#define MIG_RX_BYTES 16384
/* A wire frame's bytes around its payload: its header. */
#define MIG_FRAME_OVERHEAD MIG_HEADER_BYTES
/* verify=before groups at most this many pages in one sum (VM_MAX_MEMORY_MIB / MIG_DIGEST_GROUPS). */
#define MIG_DIGEST_GROUP_MAX_PAGES (MIG_MAX_PAGES / MIG_DIGEST_GROUPS)

/* Reads before a stream is accepted, and all a source reads: small messages only. */
#define MIG_SMALL_RX_BYTES 512

/*
 * The working memory of a migration (engine.h env->buffers): given to a source at its
 * start and to a destination when it accepts an offer, never to a connection that
 * has not proved the key or only asks a question.
 */
struct mig_src_buffers {
	uint8_t stream[MIG_WRITER_CAPACITY];   /* the writer's page stream (mig_src_offer) */
	uint8_t state_blob[VM_SNAPSHOT_MAX_BYTES];
	uint64_t send_map[MIG_BITMAP_WORDS];
	uint64_t dirty_map[MIG_BITMAP_WORDS];
	uint32_t sums[MIG_DIGEST_SUMS_MAX];    /* the memory digest's sums waiting to go */
	uint32_t group_hashes[MIG_DIGEST_GROUP_MAX_PAGES];
};
struct mig_dst_buffers {
	uint8_t stream[MIG_FRAME_MAX];         /* the reader's page stream (mig_dst_accept) */
	uint8_t rx[MIG_RX_BYTES];
	uint8_t state_blob[VM_SNAPSHOT_MAX_BYTES];
	uint32_t page_hash[MIG_MAX_PAGES];     /* each page's hash as it arrived (verify on) */
};

/* A source in doubt after GO asks the destination on new connections (engine_doubt.c). */
struct mig_engine_doubt {
	bool querying;                   /* a query connection is open */
	uint64_t next_query_ns;          /* when the next query starts */
	uint64_t query_start_ns;
	uint32_t interval_ms;            /* the wait before the next one; doubles up to a bound */
	uint32_t queries;                /* queries finished, answered or not */
	enum mig_answer answer;          /* of the last one: MIG_ANSWER_NONE when it failed */
	char why[MIG_TEXT_MAX + 1];      /* why the last one failed, or what it said */
};
/* The source's part (engine_src.c, engine_precopy.c, engine_digest.c, engine_doubt.c). */
struct mig_engine_src {
	bool dirty_logging, paused_by_us;
	uint64_t connected_ns;           /* the handshake's start */
	uint64_t pause_ns;
	uint64_t state_saved_ns;         /* when state_save took the guest's state (GO says since when) */
	uint64_t cursor;                 /* next page to consider in this round */
	bool round0;                     /* round 0 walks all of RAM, later rounds send_map */
	bool sent_state;                 /* stop-and-copy: the state blob is saved */
	uint32_t outrun_rounds;          /* rounds in a row whose dirty rate outran the link */
	unsigned throttle;
	struct mig_converge converge;    /* the dirty sets' model: whether they outrun the link */
	uint64_t round_bytes;            /* the last round's wire bytes, as its ROUND_END said */
	struct mig_link link;            /* bandwidth and round trip */
	uint64_t hello_sent_ns, auth_sent_ns;   /* the handshake's round trips */
	uint64_t precopy_start_ns, precopy_start_taken;
	uint64_t state_ns;               /* encoding the state here: the estimate of its costs */
	uint64_t hash_ns_per_page;       /* verify=before: hashing RAM at the pause */
	bool draining;                   /* the last dirty set fits; waiting for the queue to drain */
	uint64_t drain_queued;           /* unacked when last looked at while draining */
	uint64_t last_progress_ns, progress_bytes;
	/* The memory digest of the paused guest (engine_digest.c). */
	uint64_t hash_cursor;            /* the next page to hash */
	uint32_t sums_ready, sums_first; /* sums in sums[] waiting to go, from sum sums_first */
	bool digest_sent;                /* every sum queued */
	uint64_t verify_start_ns;
#ifdef FERRY_FAULT_INJECTION
	uint64_t fault_page;             /* the page the injected fault keeps from the peer */
	uint8_t fault_copy[MIG_PAGE_SIZE];   /* MIG_FAULT_CORRUPT_PAGE: what is sent instead */
#endif
	uint64_t *send_map;              /* pages to send in this round (in the buffers) */
	uint64_t *dirty_map;             /* pages found dirty by collect */
	struct mig_src_buffers *buffers;
	struct mig_engine_doubt doubt;
};

/* The destination's part (engine_dst.c, engine_digest.c). */
struct mig_engine_dst {
	uint8_t *ram;                    /* the shell's RAM, once created */
	uint64_t shell_id;               /* host_ops->create_incoming's id of the shell */
	bool resumed;                    /* the guest was started here: nothing may discard it now */
	uint64_t ignored_bytes;          /* from the source after GO: read and dropped */
	struct mig_dst_buffers *buffers;
	uint64_t last_precopy_ns;        /* the last pre-copy round's end: the downtime's start */
	uint64_t done_ns;                /* DONE received: the load's start */
	uint64_t loaded_ns;              /* the state loaded and READY queued: the guest's clock runs
					    again from here, and GO's arrival closes a round trip */
	uint64_t resume_ns;
	uint32_t announce_next;          /* RARP frames sent */
	size_t rx_start, rx_end;         /* input in rx not yet fed to the protocol */
	uint8_t verify;                  /* the offer's enum mig_verify */
	bool verdict_done;               /* verify=after: the verdict is queued (or cannot be) */
};

struct mig_engine {
	enum mig_role role;
	void (*role_step)(struct mig_engine *e);   /* the role's step, set by its start */
	enum mig_engine_phase phase;
	enum mig_engine_kind kind;
	bool authenticated;              /* the peer proved the key */
	struct mig_env env;
	struct mig_params params;
	struct vm *guest;                /* the source's guest, or the destination's shell */
	struct tcp_stream *conn;         /* NULL once closed */
	uint64_t pages;                  /* guest pages */
	uint64_t start_ns, last_rx_ns, last_tx_ns;   /* last_rx_ns: the last verified message */
	uint64_t rx_messages;            /* verified messages seen (the reader's count) */
	uint64_t tx_bytes;               /* every byte written to the transport */
	uint64_t pace_start_ns, paced_bytes;   /* the bandwidth limit's account */
	uint64_t round_start_ns, round_zero;   /* the round being sent or received */
	uint8_t hash;                    /* the digest's page hash (enum mig_hash), the offer's */
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
	uint8_t *rx;                     /* small_rx, or the destination's buffers once accepted */
	size_t rx_cap;
	uint8_t small_rx[MIG_SMALL_RX_BYTES];
	uint8_t *state_blob;             /* in the buffers */
	size_t state_len;
	struct mig_report report;
};

/* ---- engine.c: the plumbing ---------------------------------------------------------- */

static inline const struct mig_guest_ops *mig_gops(const struct mig_engine *e)
{
	return e->env.guest_ops;
}

uint64_t mig_now(const struct mig_engine *e);
/* A log line through env->log (none without one), at most MIG_SAY_MAX - 1 characters:
 * a guest's name and an outcome before a whole reason. */
#define MIG_SAY_MAX (64 + MIG_REPORT_REASON_MAX)
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
/* Counts the reader's newly verified messages as the peer's liveness (last_rx_ns). */
void mig_note_messages(struct mig_engine *e, uint64_t reader_messages);
/* True when the handshake (connection to the peer's verified AUTH) has run out of time. */
bool mig_handshake_overdue(const struct mig_engine *e, uint64_t since_ns);
/* The env's working memory for this role, or NULL (none to be had now). */
void *mig_get_buffers(struct mig_engine *e);
void mig_close_conn(struct mig_engine *e, bool graceful);

/* ---- the source's files ---------------------------------------------------------------- */

/* engine_src.c: failing before GO (ABORT, resume here), and completing after RESUMED. */
void mig_src_fail(struct mig_engine *e, enum mig_outcome outcome, int err, unsigned reason,
		  const char *why);
void mig_src_complete(struct mig_engine *e);
/* Bytes the transport and the protocol's writer hold that the peer has not taken. */
uint64_t mig_src_queued(struct mig_engine *e);
/* Bytes the peer has taken so far. */
uint64_t mig_src_taken(struct mig_engine *e);

/* engine_precopy.c: the rounds, the estimates and the stop-and-copy. */
void mig_src_start_precopy(struct mig_engine *e);
void mig_src_precopy_step(struct mig_engine *e);
void mig_src_stop_copy_step(struct mig_engine *e);
/* A sample of the link after the step's I/O. */
void mig_src_sample_link(struct mig_engine *e);

/* engine_digest.c: the source's sums of its paused RAM, and the destination's side. */
/* Picks the faster page hash on this CPU (and times it): before the offer names it. */
void mig_digest_src_choose(struct mig_engine *e);
void mig_digest_src_begin(struct mig_engine *e);
/* Hashes and queues sums for a bounded time; true once every sum is queued. */
bool mig_digest_src_step(struct mig_engine *e);
/* verify=after: the destination's verdict. */
void mig_digest_src_verdict(struct mig_engine *e, const struct mig_digest *verdict);
/* Settles a source whose verify=after digest found a mismatch (mig_engine_resolve). */
int mig_digest_src_resolve(struct mig_engine *e, bool dest_runs);
/* A page as it arrives at the destination (data NULL: zeros). */
void mig_digest_dst_page(struct mig_engine *e, uint32_t page, const uint8_t *data);
/* The source's sums, as they arrive: compared with this side's hashes. */
void mig_digest_dst_sums(struct mig_engine *e, const struct mig_digest *sums);
/* Writes which pages differed ("pages 4096-4111, 8192") into text. */
void mig_digest_describe(const struct mig_report *r, char *text, size_t size);

/* ---- engine_src.c and engine_doubt.c ----------------------------------------------- */

/* Stops what the source started on its guest and leaves it running there. */
void mig_src_restore_guest(struct mig_engine *e);
/* The destination runs the guest: the copy here goes. */
void mig_src_drop_guest(struct mig_engine *e);
/* After GO, no answer: the guest stays paused here; the engine starts asking (engine_doubt.c). */
void mig_src_in_doubt(struct mig_engine *e, int err, const char *why);
/* The step of a source in doubt (engine_doubt.c). */
void mig_doubt_step(struct mig_engine *e);


#endif
