/*
 * The live-migration engine: one migration (outgoing or incoming) driven step by
 * step from a poller, over two ops tables the caller provides, so that it is
 * portable and host-tested with fake guests and an in-memory transport. The image
 * implements mig_guest_ops over kernel/vm/vm.h and mig_transport_ops over
 * net/tcp_stream.h.
 *
 * Source: connect, authenticate, offer; pre-copy rounds (round 0 all of RAM, then
 * the pages dirtied meanwhile) until the estimated final transfer fits the
 * downtime target at the measured bandwidth; auto-converge (throttle 20%, +10% a
 * round, up to 95%) when the dirty set stops shrinking for 2 rounds; give up past
 * max_rounds or max_time (guest unthrottled, left running). Stop-and-copy: pause,
 * last dirty pages, STATE, DONE; READY; GO; RESUMED; then destroy the guest.
 * Destination: check and accept the offer, create the shell, apply pages, verify,
 * load the state, READY; on GO resume, RESUMED, then RARP announcements.
 *
 * Failure semantics (docs/migration.md): before GO is sent, any failure resumes
 * the guest on the source (RAM intact) and the destination discards its shell.
 * After GO the source never resumes on its own: it waits for RESUMED (then frees
 * the guest) or an ABORT (then resumes); on a timeout or a lost connection the
 * outcome is MIG_OUTCOME_IN_DOUBT, the guest stays paused and migrating, and
 * mig_engine_resolve() settles it once an operator knows where the guest runs.
 *
 * Not reentrant; one engine per migration; the engine allocates nothing: struct
 * mig_engine holds every buffer (about 485 KiB: the writer's two largest frames, the
 * reader's one, two dirty bitmaps for VM_MAX_MEMORY_MIB, the state blob), so the
 * caller gives it zeroed frames (mem_alloc) for each migration it runs at once.
 */
#ifndef FERRY_MIGRATION_ENGINE_H
#define FERRY_MIGRATION_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "kernel/migration/proto.h"
#include "kernel/migration/report.h"

/* What the engine needs of guests (mirrors kernel/vm/vm.h; `guest` is a struct vm *). */
struct mig_guest_ops {
	int (*pause)(void *guest);
	int (*resume)(void *guest);
	uint8_t *(*ram)(void *guest);
	uint64_t (*ram_bytes)(void *guest);
	const char *(*name)(void *guest);
	const uint8_t *(*mac)(void *guest);
	const struct cpu_features *(*cpu_features)(void *guest);
	const char *(*dirty_mode)(void *guest);               /* "pml" or "ept-ad" */
	int (*dirty_start)(void *guest);
	long (*dirty_collect)(void *guest, uint64_t *bitmap); /* ORs pages in; count or ferry_err */
	void (*dirty_stop)(void *guest);
	int (*set_throttle)(void *guest, unsigned percent);
	long (*state_save)(void *guest, uint8_t *buf, size_t cap);
	int (*state_load)(void *guest, const uint8_t *buf, size_t len, const char **why);
	void (*set_migrating)(void *guest, bool migrating);
	int (*destroy)(void *guest);                          /* source, after the switchover */
	/* destination host: ctx is mig_env.ctx */
	int (*create_incoming)(void *ctx, const char *name, uint64_t memory_mib, const uint8_t *mac,
			       void **guest, const char **why);
	int (*discard)(void *guest);                          /* an incoming shell that never ran */
	bool (*memory_available)(void *ctx, uint64_t memory_mib);
	bool (*name_free)(void *ctx, const char *name);
	void (*host_cpu_features)(void *ctx, struct cpu_features *out);
};

/* A byte stream to the peer (mirrors net/tcp_stream.h; `conn` is a struct tcp_stream *). */
struct mig_transport_ops {
	bool (*connected)(void *conn);
	long (*write)(void *conn, const void *buf, size_t len);   /* count queued (0: full) or ferry_err */
	size_t (*writable)(void *conn);
	int (*flush)(void *conn);
	long (*read)(void *conn, void *buf, size_t len);          /* count (0: none yet) or ferry_err */
	size_t (*readable)(void *conn);
	int (*error)(void *conn);                                 /* 0 or the sticky ferry_err */
	void (*close)(void *conn);                                /* graceful, frees */
	void (*abort)(void *conn);                                /* reset, frees */
	/*
	 * Bytes written and not yet taken by the peer (a TCP send buffer's unacknowledged
	 * data); may be NULL (then 0). The engine measures the link by what the peer took
	 * and, before it pauses the guest, lets a deep queue drain: its bytes would
	 * otherwise count against the downtime.
	 */
	size_t (*unacked)(void *conn);
};

/* Progress, about once a second while pre-copy runs. */
struct mig_progress {
	const char *guest;
	enum mig_role role;
	uint32_t round;
	uint64_t remaining_pages;    /* left in this round plus found dirty since */
	uint64_t rate_kbps;          /* KB/s (10^3 bytes) over the last interval */
	uint64_t eta_ms;             /* remaining at that rate; 0 when unknown */
	unsigned throttle;
};

struct mig_env {
	const struct mig_guest_ops *guest_ops;
	const struct mig_transport_ops *transport_ops;
	uint64_t (*now_ns)(void *ctx);
	void (*log)(void *ctx, const char *line);                     /* may be NULL */
	void (*progress)(void *ctx, const struct mig_progress *p);   /* may be NULL */
	/* Sends one Ethernet frame on the host's NIC (RARP); may be NULL. */
	int (*send_raw_frame)(void *ctx, const uint8_t *frame, size_t len);
	/* Random bytes (nonces, ids); required: the image's is arch/x86/entropy.h. */
	int (*random)(void *ctx, void *buf, size_t len);
	const uint8_t *key;          /* ferry.cfg migration_key; NULL or len 0: refused */
	size_t key_len;
	void *ctx;
};

struct mig_params {
	uint32_t downtime_ms;        /* target; default 50 */
	uint32_t bandwidth_mbps;     /* limit in MB/s (10^6 bytes); 0: unlimited */
	uint32_t max_rounds;         /* pre-copy bound; default 30 */
	uint32_t max_time_ms;        /* pre-copy bound; default 300000 */
	uint32_t connect_timeout_ms; /* default 10000 */
	uint32_t reply_timeout_ms;   /* a peer silent this long while we wait is gone; default 30000 */
};

#define MIG_DEFAULT_DOWNTIME_MS 50
#define MIG_DEFAULT_MAX_ROUNDS 30
#define MIG_DEFAULT_MAX_TIME_MS 300000
#define MIG_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define MIG_DEFAULT_REPLY_TIMEOUT_MS 30000
#define MIG_THROTTLE_FIRST 20
#define MIG_THROTTLE_STEP 10
#define MIG_THROTTLE_MAX 95
#define MIG_STALL_ROUNDS 2           /* rounds without a shrinking dirty set before throttling */
#define MIG_SHRINK_MIN_PCT 10        /* a dirty set not this far below the smallest so far is stalled */

/* Guest RAM the engine can move: the bitmap is sized for VM_MAX_MEMORY_MIB. */
#define MIG_MAX_PAGES ((uint64_t)VM_MAX_MEMORY_MIB << (20 - MIG_PAGE_SHIFT))
#define MIG_BITMAP_WORDS (MIG_MAX_PAGES / 64)

enum mig_engine_phase {
	MIG_PHASE_IDLE,
	MIG_PHASE_CONNECTING,
	MIG_PHASE_HANDSHAKE,        /* HELLO/AUTH/OFFER/ACCEPT */
	MIG_PHASE_PRECOPY,
	MIG_PHASE_STOP_COPY,        /* source paused; destination receiving the last of it */
	MIG_PHASE_SWITCHOVER,       /* READY/GO/RESUMED */
	MIG_PHASE_ANNOUNCE,         /* destination: RARP frames after resume */
	MIG_PHASE_FINISHED,         /* see the report's outcome */
};

struct mig_engine {
	enum mig_role role;
	enum mig_engine_phase phase;
	struct mig_env env;
	struct mig_params params;
	void *guest;
	void *conn;
	uint64_t pages;                  /* guest pages */
	uint64_t start_ns, phase_ns, last_rx_ns, last_tx_ns, pause_ns, last_progress_ns;
	uint64_t progress_bytes;
	bool dirty_logging, paused_by_us, go_sent, cancel_requested, destination_running;
	char cancel_reason[MIG_TEXT_MAX + 1];
	/* source pre-copy */
	uint64_t cursor;                 /* next page to consider in this round */
	uint64_t round_start_ns, round_start_bytes, round_pages, round_zero;
	uint64_t best_dirty, paced_bytes, pace_start_ns;   /* best_dirty: smallest dirty set so far */
	uint64_t bandwidth_bps;          /* measured, bytes per second */
	uint32_t stall_rounds;
	unsigned throttle;
	bool round0, final_round, sent_state;
	bool draining;                   /* the last dirty set fits; waiting for the queue to drain */
	uint64_t tx_bytes;               /* every byte written to the transport */
	uint64_t round_start_taken;      /* tx_bytes - unacked at the round's start */
	uint64_t drain_queued;           /* unacked when last looked at while draining */
	uint64_t send_map[MIG_BITMAP_WORDS];  /* pages to send in this round */
	uint64_t dirty_map[MIG_BITMAP_WORDS]; /* pages found dirty by collect */
	/* destination */
	uint64_t last_precopy_ns;
	uint32_t announce_next;
	uint64_t resume_ns;
	uint8_t *ram;
	uint8_t state_blob[VM_STATE_MAX_BYTES];
	size_t state_len;
	union {
		struct mig_src src;
		struct mig_dst dst;
	} proto;
	uint8_t rx[16384];
	size_t rx_start, rx_end;         /* destination: input not yet fed */
	struct mig_report report;
};

/* Defaults for every field. */
void mig_params_defaults(struct mig_params *p);

/*
 * Starts migrating `guest` over `conn` (a connection being made; the engine owns
 * it from now on and closes it). Checks the key and the guest first: FERR_AUTH
 * (no key), FERR_RANGE (RAM over MIG_MAX_PAGES) or the guest op's error, with the
 * report's reason set; nothing is changed then, and conn is left to the caller.
 */
int mig_source_start(struct mig_engine *e, const struct mig_env *env,
		     const struct mig_params *params, void *guest, void *conn);

/* Serves an incoming connection (the engine owns conn from now on). */
int mig_dest_start(struct mig_engine *e, const struct mig_env *env, void *conn);

/* Does a bounded slice of work; returns true while the migration is not finished. */
bool mig_engine_step(struct mig_engine *e);

/*
 * Asks a running migration to stop: before GO the guest stays (or is resumed)
 * where it was; FERR_BUSY once GO was sent (too late: the destination runs it).
 */
int mig_engine_cancel(struct mig_engine *e, const char *why);

/*
 * Settles an IN_DOUBT source once the operator knows the truth: dest_runs true
 * destroys the local copy, false resumes it. FERR_INVAL when not in doubt.
 */
int mig_engine_resolve(struct mig_engine *e, bool dest_runs);

const struct mig_report *mig_engine_report(const struct mig_engine *e);
bool mig_engine_finished(const struct mig_engine *e);
/* The guest the engine works on (the source's, or the destination's shell); NULL when none. */
void *mig_engine_guest(const struct mig_engine *e);
const char *mig_phase_name(enum mig_engine_phase phase);

#endif
