/*
 * The migration protocol's two state machines, sans-IO: bytes from the peer go in
 * (mig_*_input), events come out one at a time, and the bytes to send wait in the
 * machine's writer (mig_*_pending / mig_*_consume). No I/O, no guest calls, no
 * clock: the engine (engine_src.c, engine_dst.c) drives them. Every message is
 * checked against the state (order), its limits and its sequence number (the TLS
 * channel under it authenticates every byte).
 *
 * Message order (docs/migration.md):
 *   source                          destination
 *   HELLO            ------------>
 *                    <------------  HELLO        (or ABORT no-key / version)
 *   AUTH             ------------>
 *                    <------------  AUTH         (or ABORT auth)
 *   OFFER            ------------>
 *                    <------------  ACCEPT | REFUSE
 *   { PAGES* ROUND_END }*  (pre-copy rounds, the guest runs)
 *   PAGES* ROUND_END(final) STATE DONE   (stop-and-copy, the guest paused)
 *                    <------------  READY        (or ABORT)
 *   GO               ------------>
 *                    <------------  RESUMED
 *   With verify=before a DIGEST of sums goes between STATE and DONE, and the
 *   destination compares it before READY (a mismatch is ABORT digest-mismatch); with
 *   verify=after the source sends DIGEST sums after RESUMED and the destination
 *   answers with a VERDICT.
 *   The source may send ABORT until GO, the destination until RESUMED: it then
 *   discards its shell and never runs the guest, so an ABORT received after GO
 *   still means "resume".
 *
 * Portable (image and host).
 */
#ifndef FERRY_MIGRATION_PROTO_H
#define FERRY_MIGRATION_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "kernel/migration/auth.h"
#include "kernel/migration/channel.h"
#include "kernel/migration/stream_sum.h"
#include "kernel/migration/wire.h"

/* ---- source ------------------------------------------------------------------------ */

enum mig_src_state {
	MIG_SRC_WAIT_HELLO,     /* HELLO sent */
	MIG_SRC_WAIT_AUTH,      /* AUTH sent, waiting for the destination's */
	MIG_SRC_AUTHENTICATED,  /* may send OFFER (or QUERY) */
	MIG_SRC_WAIT_ACCEPT,
	MIG_SRC_WAIT_ANSWER,    /* QUERY sent */
	MIG_SRC_STREAMING,      /* pages, round ends, state, done */
	MIG_SRC_WAIT_READY,     /* DONE sent */
	MIG_SRC_READY,          /* may send GO */
	MIG_SRC_WAIT_RESUMED,   /* GO sent: the guest belongs to the destination unless it aborts */
	MIG_SRC_FINISHED,       /* RESUMED (or ANSWER) received */
	MIG_SRC_CLOSED,         /* aborted, refused or failed */
};

enum mig_src_event_kind {
	MIG_SRC_EV_AUTHENTICATED = 1,
	MIG_SRC_EV_ACCEPTED,
	MIG_SRC_EV_REFUSED,     /* reason, text */
	MIG_SRC_EV_READY,
	MIG_SRC_EV_RESUMED,     /* dest_downtime_ns */
	MIG_SRC_EV_ABORTED,     /* the destination aborted: reason, text */
	MIG_SRC_EV_VERDICT,     /* verify=after: the destination compared (verdict) */
	MIG_SRC_EV_ANSWER,      /* answer to a QUERY: answer (enum mig_answer) */
};

struct mig_src_event {
	enum mig_src_event_kind kind;
	uint16_t reason;
	char text[MIG_TEXT_MAX + 1];
	uint64_t dest_downtime_ns, dest_load_ns;
	uint8_t answer;
	struct mig_digest verdict;
};

struct mig_src {
	enum mig_src_state state;
	const uint8_t *psk;
	size_t psk_len;
	uint8_t nonce[MIG_NONCE_BYTES];
	struct mig_session session;
	uint64_t page_limit;
	/* the open PAGES batch */
	uint8_t *batch;
	size_t batch_len;
	uint32_t batch_pages, batch_pages_max;
	/* the current round and the whole stream */
	uint64_t round_pages, round_bytes, pages_total;
	uint32_t round;
	bool final_round_ended, state_sent;
	uint8_t verify;                 /* the offer's enum mig_verify */
	bool verdict_received;
	uint64_t state_bytes;
	struct mig_stream_sum checksum;
	uint64_t query_id;              /* the migration a QUERY asked about */
	char error[MIG_TEXT_MAX + 1];
	struct mig_reader reader;       /* on `in`: a destination sends small messages only */
	struct mig_writer writer;       /* on `out` until the page stream's buffer is given */
	uint8_t in[MIG_SMALL_FRAME_MAX];
	uint8_t out[MIG_SMALL_WRITER_CAPACITY];
};

/* Starts: queues HELLO. psk must stay valid; psk_len 0 is refused (FERR_AUTH). */
int mig_src_init(struct mig_src *s, const uint8_t *psk, size_t psk_len,
		 const uint8_t nonce[MIG_NONCE_BYTES]);
void mig_src_fini(struct mig_src *s);

/*
 * Feeds bytes from the destination. Returns 1 with *ev filled, 0 when all bytes
 * were used without an event, or a negative ferry_err (s->error says why; the
 * machine is then CLOSED and the caller should send nothing more but may queue ABORT).
 * Once FINISHED, bytes are taken and ignored.
 */
int mig_src_input(struct mig_src *s, const uint8_t *data, size_t len, size_t *used,
		  struct mig_src_event *ev);

/*
 * Queues OFFER (once authenticated). stream_buf (MIG_WRITER_CAPACITY bytes, the
 * caller's, valid until fini) holds the outgoing page stream from now on.
 */
int mig_src_offer(struct mig_src *s, const struct mig_offer *offer, uint8_t *stream_buf,
		  size_t stream_cap);
/* Queues QUERY about migration_id instead of an offer (once authenticated). */
int mig_src_query(struct mig_src *s, uint64_t migration_id);
/* True when another full batch of pages can be queued now. */
bool mig_src_has_room(const struct mig_src *s);
/* A count of pages per PAGES message made valid: 1..MIG_BATCH_MAX_PAGES. */
uint32_t mig_batch_pages_clamp(uint64_t pages);
/*
 * Pages per PAGES message from now on (1..MIG_BATCH_MAX_PAGES, the default; others are
 * clamped): a receiver takes a message's pages only once its last byte is in, so a
 * smaller batch is applied sooner after its bytes arrive.
 */
void mig_src_set_batch_pages(struct mig_src *s, uint64_t pages);
/* Adds a page (data NULL: zero page) to the open batch; FERR_BUSY when no room. */
int mig_src_page(struct mig_src *s, uint32_t page, const uint8_t *data);
/* Closes the batch and ends the round (final: the stop-and-copy round); *out (may be NULL) gets its summary. */
int mig_src_round_end(struct mig_src *s, bool final, struct mig_round_end *out);
int mig_src_state(struct mig_src *s, const uint8_t *blob, size_t len);
/*
 * Queues DIGEST sums (count entries from first, group_pages pages each): with
 * verify=before between STATE and DONE, with verify=after once RESUMED came.
 * FERR_BUSY when the writer has no room yet, FERR_INVAL out of turn.
 */
int mig_src_digest(struct mig_src *s, uint32_t first, uint32_t group_pages, uint32_t count,
		   const uint32_t *entries);
int mig_src_done(struct mig_src *s);
/* GO, with the time since the guest's state was saved (wire.h MIG_GO_BYTES). */
int mig_src_go(struct mig_src *s, uint64_t since_save_ns);
/* Queues ABORT (when allowed: before GO) and closes. */
int mig_src_abort(struct mig_src *s, unsigned reason, const char *text);

size_t mig_src_pending(const struct mig_src *s, const uint8_t **data);
void mig_src_consume(struct mig_src *s, size_t n);

/* ---- destination ------------------------------------------------------------------- */

enum mig_dst_state {
	MIG_DST_WAIT_HELLO,
	MIG_DST_WAIT_AUTH,
	MIG_DST_WAIT_OFFER,     /* authenticated: OFFER or QUERY */
	MIG_DST_OFFERED,        /* OFFER checked: the engine creates the shell, then accept/refuse */
	MIG_DST_QUERIED,        /* QUERY received: the engine answers */
	MIG_DST_ANSWERED,       /* ANSWER queued: nothing more on this connection */
	MIG_DST_PRECOPY,        /* PAGES and ROUND_END */
	MIG_DST_WAIT_STATE,     /* after the final ROUND_END */
	MIG_DST_WAIT_DONE,
	MIG_DST_VERIFIED,       /* DONE matched: the engine loads the state, then ready/abort */
	MIG_DST_WAIT_GO,
	MIG_DST_GO,             /* GO received: the engine resumes, then resumed() */
	MIG_DST_FINISHED,
	MIG_DST_CLOSED,
};

enum mig_dst_event_kind {
	MIG_DST_EV_OFFER = 1,   /* offer checked and acceptable: create the shell */
	MIG_DST_EV_PAGE,        /* page, data (NULL: zero page) */
	MIG_DST_EV_ROUND_END,   /* round */
	MIG_DST_EV_STATE,       /* state, state_len: valid until the next input call */
	MIG_DST_EV_VERIFIED,    /* DONE matched the stream */
	MIG_DST_EV_GO,
	MIG_DST_EV_ABORTED,     /* the source aborted: reason, text */
	MIG_DST_EV_REFUSED,     /* this side refused the offer (reply queued): reason, text */
	MIG_DST_EV_DIGEST,      /* the source's sums: digest (entries valid until the next input) */
	MIG_DST_EV_QUERY,       /* the source asks about migration_id: answer it */
	MIG_DST_EV_AUTHENTICATED, /* the source proved the key (AUTH checked, ours queued) */
};

struct mig_dst_event {
	enum mig_dst_event_kind kind;
	uint32_t page;
	const uint8_t *data;
	const uint8_t *state;
	size_t state_len;
	struct mig_round_end round;
	uint16_t reason;
	char text[MIG_TEXT_MAX + 1];
	struct mig_digest digest;
	uint64_t migration_id;
	uint64_t go_since_save_ns;        /* GO: the source's time from its save of the state */
};

/* What the destination checks an OFFER against. */
struct mig_dst_checks {
	struct cpu_features host_features;
	uint32_t host_vendor;           /* enum vcpu_vendor: an offer from another vendor is refused */
	/* True when memory_mib can be reserved for a guest now. */
	bool (*memory_available)(void *ctx, uint64_t memory_mib);
	/* True when no guest has this name here. */
	bool (*name_free)(void *ctx, const char *name);
	void *ctx;
};

struct mig_dst {
	enum mig_dst_state state;
	const uint8_t *psk;
	size_t psk_len;
	uint8_t nonce[MIG_NONCE_BYTES];
	struct mig_session session;
	struct mig_dst_checks checks;
	struct mig_offer offer;
	uint64_t query_id;              /* the migration a QUERY asked about */
	/* the PAGES message being handed out record by record */
	const uint8_t *pages;
	size_t pages_len, pages_at;
	uint64_t round_pages, round_bytes, pages_total, state_bytes;
	uint32_t next_round;
	uint64_t digest_next;            /* the sum the source's next DIGEST must start at */
	bool verdict_sent;
	struct mig_stream_sum checksum;
	char error[MIG_TEXT_MAX + 1];
	struct mig_reader reader;       /* on `in` until the page stream's buffer is given */
	struct mig_writer writer;       /* on `out`: a destination sends small messages only */
	uint8_t in[MIG_SMALL_FRAME_MAX];
	uint8_t out[MIG_SMALL_WRITER_CAPACITY];
};

/* psk_len 0: every source is answered ABORT no-key. */
void mig_dst_init(struct mig_dst *d, const uint8_t *psk, size_t psk_len,
		  const uint8_t nonce[MIG_NONCE_BYTES], const struct mig_dst_checks *checks);
void mig_dst_fini(struct mig_dst *d);

/*
 * As mig_src_input. A refusal it decides itself is queued and reported as EV_REFUSED.
 * While an event waits for the engine's answer (OFFERED, QUERIED, VERIFIED, GO) it
 * takes no bytes; after RESUMED or ANSWER it takes them and ignores them: nothing
 * the source sends then can change what was done.
 */
int mig_dst_input(struct mig_dst *d, const uint8_t *data, size_t len, size_t *used,
		  struct mig_dst_event *ev);

/*
 * Queues ACCEPT. stream_buf (at least MIG_FRAME_MAX bytes, the caller's, valid until
 * fini) receives the page stream from now on.
 */
int mig_dst_accept(struct mig_dst *d, uint8_t *stream_buf, size_t stream_cap);
int mig_dst_refuse(struct mig_dst *d, unsigned reason, const char *text);
int mig_dst_ready(struct mig_dst *d);
int mig_dst_resumed(struct mig_dst *d, uint64_t downtime_ns, uint64_t load_ns);
/* Queues ANSWER to a QUERY (answer: enum mig_answer, RAN..UNKNOWN). */
int mig_dst_answer(struct mig_dst *d, unsigned answer);
/* True once every sum of the source's digest came. */
bool mig_dst_digest_complete(const struct mig_dst *d);
/* verify=after, once every sum came: how many differed, naming the first `named` pages. */
int mig_dst_verdict(struct mig_dst *d, uint32_t differing, uint32_t named, const uint32_t *pages);
/*
 * Queues ABORT and closes; allowed until RESUMED (after GO only when the guest could
 * not be started: ABORT always means the destination never ran the guest).
 */
int mig_dst_abort(struct mig_dst *d, unsigned reason, const char *text);

size_t mig_dst_pending(const struct mig_dst *d, const uint8_t **data);
void mig_dst_consume(struct mig_dst *d, size_t n);

#endif
