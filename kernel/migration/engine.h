/*
 * The live-migration engine: one migration (outgoing or incoming) driven step by
 * step from a poller, over the ops tables the caller provides, so that it is
 * portable and host-tested with fake guests and an in-memory transport. The image
 * implements mig_guest_ops and mig_host_ops over kernel/vm/vm.h (guest_ops.c) and
 * mig_transport_ops over net/tcp_stream.h (transport.c).
 *
 * Source (engine_src.c, its rounds in engine_precopy.c): connect, authenticate,
 * offer; pre-copy rounds (round 0 all of RAM, then the pages dirtied meanwhile) until
 * the estimated final transfer (the last dirty pages and the state at the link's
 * smoothed bandwidth, the hand-over's round trips, the destination's load: link.h)
 * fits the downtime target; auto-converge (throttle by time 20%, +10% a round, up to
 * 99%) only while the guest's writes outrun the link, as the dirty sets' model reads
 * them (converge.h); give up past max_rounds or max_time (guest
 * unthrottled, left running). Stop-and-copy: pause, last dirty pages, STATE, (DIGEST,)
 * DONE; READY; GO; RESUMED; (DIGEST, VERDICT;) then destroy the guest.
 * Destination (engine_dst.c): check and accept the offer, create the shell, apply
 * pages, verify, load the state, READY; on GO resume, RESUMED, then RARP
 * announcements. The memory digest of both roles is engine_digest.c; engine.c holds
 * what both share.
 *
 * What a caller can rely on (docs/migration.md "Failure semantics"; engine_src.c and
 * engine_dst.c hold the logic): before GO is sent, any failure resumes the guest on
 * the source (RAM intact) and the destination discards its shell, which never ran
 * (only the shell it created, checked by name and id through host_ops). Once the
 * destination started the guest nothing there discards it: a failure after that
 * (a lost connection, bytes after GO, which are read and dropped) only closes the
 * connection and is noted in the report's reason. After GO the source never resumes
 * on its own: it waits for RESUMED (then frees the guest) or an ABORT (then
 * resumes); on a timeout or a lost connection the outcome is MIG_OUTCOME_IN_DOUBT,
 * the guest stays paused and migrating, and the engine asks the destination on new
 * connections (QUERY, by migration id) until it answers running or never-ran, then
 * settles it; mig_engine_resolve() settles it on an operator's word meanwhile, but
 * never against a definite answer.
 *
 * Hostile peers: every wait is bounded. The handshake (connection to the peer's
 * verified AUTH) has handshake_timeout_ms; after it a peer is alive only while it
 * sends verified messages (bytes alone do not count); a source never keeps its
 * guest paused before GO longer than max(max_paused_ms, 2 x the downtime target).
 *
 * Not reentrant; one engine per migration; the engine allocates nothing: the caller
 * gives it mig_engine_size() bytes (a few KiB) for each connection, and the engine
 * asks env->buffers for its working memory (mig_engine_buffers_size(role): about
 * 380 KiB for a source, with the memory digest's sums; 1.2 MiB for a destination,
 * with a page hash for each page of the largest guest) only when a stream starts: a
 * source at its start, a destination when it accepts an authenticated offer.
 */
#ifndef FERRY_MIGRATION_ENGINE_H
#define FERRY_MIGRATION_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "kernel/migration/report.h"

/*
 * The engine only passes these along: a guest is a kernel/vm/vm.h struct vm and a
 * connection a net/tcp_stream.h struct tcp_stream in the image; host tests bring
 * their own (tests/unit/migration_fakes.h).
 */
struct vm;
struct tcp_stream;
struct mig_engine;

/* What the engine needs of one guest (the signatures of kernel/vm/vm.h). */
struct mig_guest_ops {
	int (*pause)(struct vm *vm);
	int (*resume)(struct vm *vm);
	uint8_t *(*ram)(struct vm *vm);
	uint64_t (*ram_bytes)(const struct vm *vm);
	const char *(*name)(const struct vm *vm);
	const uint8_t *(*mac)(const struct vm *vm);
	const struct cpu_features *(*cpu_features)(const struct vm *vm);
	const char *(*dirty_mode)(const struct vm *vm);          /* vcpu_dirty_mode(): "pml", "npt-ad"... */
	uint32_t (*cpu_vendor)(const struct vm *vm);             /* enum vcpu_vendor of the CPU it runs on */
	int (*dirty_start)(struct vm *vm);
	long (*dirty_collect)(struct vm *vm, uint64_t *bitmap);  /* ORs pages in; count or ferry_err */
	void (*dirty_stop)(struct vm *vm);
	int (*set_throttle)(struct vm *vm, unsigned percent);
	long (*state_save)(struct vm *vm, uint8_t *buf, size_t cap);
	long (*state_size)(struct vm *vm);                       /* what state_save would give now; may be NULL */
	int (*state_load)(struct vm *vm, const uint8_t *buf, size_t len, const char **why);
	void (*set_migrating)(struct vm *vm, bool migrating);
	/* Moves the guest's clock on by ns: the time it stood between the source's save and its load here. */
	void (*clock_advance)(struct vm *vm, uint64_t ns);
	int (*destroy)(struct vm *vm);                           /* source, after the switchover */
};

/* What the destination asks of its host; ctx is mig_env.ctx. */
struct mig_host_ops {
	/* A shell for the incoming guest (never run); *id names it for discard_incoming. */
	int (*create_incoming)(void *ctx, const char *name, uint64_t memory_mib, const uint8_t *mac,
			       struct vm **vm, uint64_t *id, const char **why);
	/*
	 * Destroys the shell create_incoming made: only while guest `name` is still the
	 * one with that id and has never run (FERR_NOENT, FERR_BUSY: nothing destroyed).
	 */
	int (*discard_incoming)(void *ctx, const char *name, uint64_t id);
	bool (*memory_available)(void *ctx, uint64_t memory_mib);
	bool (*name_free)(void *ctx, const char *name);
	void (*cpu_features)(void *ctx, struct cpu_features *out);
	uint32_t (*cpu_vendor)(void *ctx);                       /* enum vcpu_vendor of this host */
};

/* A byte stream to the peer (the signatures of net/tcp_stream.h). */
struct mig_transport_ops {
	bool (*connected)(const struct tcp_stream *conn);
	long (*write)(struct tcp_stream *conn, const void *buf, size_t len); /* count queued (0: full) or ferry_err */
	size_t (*writable)(const struct tcp_stream *conn);
	int (*flush)(struct tcp_stream *conn);
	long (*read)(struct tcp_stream *conn, void *buf, size_t len);        /* count (0: none yet) or ferry_err */
	size_t (*readable)(const struct tcp_stream *conn);
	int (*error)(const struct tcp_stream *conn);          /* 0 or the sticky ferry_err */
	void (*close)(struct tcp_stream *conn);               /* graceful, frees */
	void (*abort)(struct tcp_stream *conn);               /* reset, frees */
	/*
	 * Bytes written and not yet taken by the peer (a TCP send buffer's unacknowledged
	 * data); may be NULL (then 0). The engine measures the link by what the peer took
	 * and, before it pauses the guest, lets a deep queue drain: its bytes would
	 * otherwise count against the downtime.
	 */
	size_t (*unacked)(const struct tcp_stream *conn);
	/*
	 * The transport's own words for its sticky error (a TLS channel: a wrong key, no
	 * cipher in common, an older peer's refusal...); may be NULL, or return NULL: the
	 * engine's generic words then.
	 */
	const char *(*why)(const struct tcp_stream *conn);
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
	const struct mig_host_ops *host_ops;          /* the destination's; may be NULL on a source */
	const struct mig_transport_ops *transport_ops;
	uint64_t (*now_ns)(void *ctx);
	/* Random bytes (nonces, ids); required: the image's is arch/x86/entropy.h. */
	int (*random)(void *ctx, void *buf, size_t len);
	void (*log)(void *ctx, const char *line);                     /* may be NULL */
	void (*progress)(void *ctx, const struct mig_progress *p);   /* may be NULL */
	/* Sends one Ethernet frame on the host's NIC (RARP); may be NULL. */
	int (*send_raw_frame)(void *ctx, const uint8_t *frame, size_t len);
	/*
	 * The working memory of a stream, `bytes` (mig_engine_buffers_size(role)) zeroed,
	 * the caller's until the engine is done with it (finished, or resolved); asked
	 * once. NULL when none can be had now: a source does not start, a destination
	 * refuses the offer (busy). Required.
	 */
	void *(*buffers)(void *ctx, size_t bytes);
	/* Source in doubt: opens a new connection to the destination (for a QUERY); may be NULL. */
	int (*connect)(void *ctx, struct tcp_stream **conn);
	/*
	 * Destination: what this host knows of migration `id` (a QUERY): MIG_ANSWER_RAN,
	 * NEVER_RAN (settling a migration that has not resumed its guest: mig_engine_settle)
	 * or UNKNOWN. NULL: every query is answered UNKNOWN.
	 */
	unsigned (*answer_query)(void *ctx, uint64_t id);
	const uint8_t *key;          /* ferry.cfg migration_key; NULL or len 0: refused */
	size_t key_len;
	void *ctx;
};

#ifdef FERRY_FAULT_INJECTION
/* Faults a test build can inject (never in a production build: make esp-faults). */
enum mig_fault {
	MIG_FAULT_NONE,
	MIG_FAULT_DROP_PAGE,         /* the first page sent after round 0 is never sent again */
	MIG_FAULT_CORRUPT_PAGE,      /* ... is sent with a byte flipped, every time from then on */
};
#endif

struct mig_params {
	uint32_t downtime_ms;        /* target; default 50 */
	uint8_t verify;              /* enum mig_verify (wire.h); default MIG_DEFAULT_VERIFY */
	uint32_t bandwidth_mbps;     /* limit in MB/s (10^6 bytes); 0: unlimited */
	uint32_t max_rounds;         /* pre-copy bound; default 30 */
	uint32_t max_time_ms;        /* pre-copy bound; default 300000 */
	uint32_t connect_timeout_ms; /* default 10000 */
	uint32_t reply_timeout_ms;   /* a peer silent this long while we wait is gone; default 30000 */
#ifdef FERRY_FAULT_INJECTION
	uint8_t fault;               /* enum mig_fault */
#endif
	uint32_t handshake_timeout_ms; /* connection to the peer's verified AUTH; default 10000 */
	uint32_t max_paused_ms;      /* before GO, at least 2 x downtime_ms; default 10000 */
};

#define MIG_DEFAULT_DOWNTIME_MS 50
#define MIG_DEFAULT_MAX_ROUNDS 30
#define MIG_DEFAULT_MAX_TIME_MS 300000
#define MIG_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define MIG_DEFAULT_REPLY_TIMEOUT_MS 30000
#define MIG_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define MIG_DEFAULT_MAX_PAUSED_MS 10000
#define MIG_PAUSED_PER_TARGET 2      /* the pause cap is at least this many downtime targets */
#define MIG_QUERY_FIRST_MS 1000      /* in doubt: the first query after this, then doubling */
#define MIG_QUERY_MAX_INTERVAL_MS 60000
#define MIG_THROTTLE_FIRST 20
#define MIG_THROTTLE_STEP 10
#define MIG_THROTTLE_MAX 99
#define MIG_OUTRUN_ROUNDS 2          /* rounds the dirty rate outran the link before throttling */
/* verify=after: no cost in downtime, the same faults caught (docs/migration.md "Memory digest"). */
#define MIG_DEFAULT_VERIFY MIG_VERIFY_AFTER

enum mig_engine_phase {
	MIG_PHASE_IDLE,
	MIG_PHASE_CONNECTING,
	MIG_PHASE_HANDSHAKE,        /* HELLO/AUTH/OFFER/ACCEPT */
	MIG_PHASE_PRECOPY,
	MIG_PHASE_STOP_COPY,        /* source paused; destination receiving the last of it */
	MIG_PHASE_SWITCHOVER,       /* READY/GO/RESUMED */
	MIG_PHASE_ANNOUNCE,         /* destination: RARP frames after resume */
	MIG_PHASE_VERIFY,           /* source, verify=after: the digest of its frozen copy, the verdict */
	MIG_PHASE_IN_DOUBT,         /* source: GO sent, no answer; asking the destination */
	MIG_PHASE_ANSWER,           /* destination: a query answered, the answer being sent */
	MIG_PHASE_FINISHED,         /* see the report's outcome */
};

/* What an incoming connection turned out to be. */
enum mig_engine_kind {
	MIG_KIND_UNDECIDED,         /* no OFFER or QUERY yet */
	MIG_KIND_MIGRATION,         /* a source's own engine, or an OFFER came */
	MIG_KIND_QUERY,             /* a QUERY came: not a migration, kept in no history */
};

/* Bytes of a struct mig_engine: what the caller provides for each connection. */
size_t mig_engine_size(void);
/* Bytes of the working memory a stream of this role asks env->buffers for. */
size_t mig_engine_buffers_size(enum mig_role role);

/* Defaults for every field. */
void mig_params_defaults(struct mig_params *p);

/*
 * Starts migrating `guest` over `conn` (a connection being made; the engine owns
 * it from now on and closes it). Checks the key and the guest first: FERR_AUTH
 * (no key), FERR_RANGE (RAM the engine cannot move) or the random source's error,
 * with the report's reason set; nothing is changed then, and conn is left to the
 * caller.
 */
int mig_source_start(struct mig_engine *e, const struct mig_env *env,
		     const struct mig_params *params, struct vm *guest, struct tcp_stream *conn);

/* Serves an incoming connection (the engine owns conn from now on); env->host_ops required. */
int mig_dest_start(struct mig_engine *e, const struct mig_env *env, struct tcp_stream *conn);

/* Does a bounded slice of work; returns true while the migration is not finished. */
bool mig_engine_step(struct mig_engine *e);

/*
 * Asks a running migration to stop: before GO the guest stays (or is resumed)
 * where it was; FERR_BUSY once GO was sent (too late: the destination runs it).
 */
int mig_engine_cancel(struct mig_engine *e, const char *why);

/*
 * Settles an IN_DOUBT source (or one whose verify=after digest found a MISMATCH) on
 * the operator's word: dest_runs true destroys the local copy, false resumes it.
 * FERR_INVAL when there is nothing to settle; FERR_BUSY (nothing done) when the
 * destination's last answer says the contrary.
 */
int mig_engine_resolve(struct mig_engine *e, bool dest_runs);

/*
 * An IN_DOUBT source: asks the destination now, on a new connection (a query under
 * way is dropped uncounted). Returns the count of queries finished so far (compare
 * with mig_engine_doubt()'s to see this one's result), or FERR_INVAL when not in doubt.
 */
long mig_engine_query_now(struct mig_engine *e);
/* Queries finished while in doubt, the last one's answer (MIG_ANSWER_NONE: failed) and why. */
uint32_t mig_engine_doubt(const struct mig_engine *e, enum mig_answer *answer, const char **why);

/*
 * Destination, for a QUERY about this engine's migration: RAN when the guest was
 * started here; otherwise NEVER_RAN, and an engine still running stops now (it
 * will discard its shell, never start it).
 */
enum mig_answer mig_engine_settle(struct mig_engine *e);
/* What a finished destination's report says for a QUERY: RAN for completed, else NEVER_RAN. */
enum mig_answer mig_answer_of_report(const struct mig_report *r);

const struct mig_report *mig_engine_report(const struct mig_engine *e);
bool mig_engine_finished(const struct mig_engine *e);
enum mig_engine_phase mig_engine_phase(const struct mig_engine *e);
/*
 * True while the migrating guest is down: paused on the source, not yet running on the
 * destination (stop-and-copy, and the hand-over until RESUMED or GO).
 */
bool mig_engine_guest_down(const struct mig_engine *e);
/* The guest the engine works on (the source's, or the destination's shell); NULL when none. */
struct vm *mig_engine_guest(const struct mig_engine *e);
/* True once the peer proved the key (its AUTH verified). */
bool mig_engine_authenticated(const struct mig_engine *e);
enum mig_engine_kind mig_engine_kind(const struct mig_engine *e);
const char *mig_phase_name(enum mig_engine_phase phase);

#endif
