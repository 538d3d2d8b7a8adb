/*
 * The report of one migration, kept by the engine and shown by the shell
 * (`migrate`, `migrations`) and the tests through one formatter. Portable.
 */
#ifndef FERRY_MIGRATION_REPORT_H
#define FERRY_MIGRATION_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/migration/wire.h"

#define MIG_REPORT_MAX_ROUNDS 40

struct mig_round_stats {
	uint32_t round;
	bool final;                 /* the stop-and-copy round */
	uint64_t pages;             /* page records sent (or received) */
	uint64_t zero_pages;        /* of which zero-page markers */
	uint64_t bytes;             /* wire bytes of the round's PAGES messages */
	uint64_t duration_ns;
	uint64_t dirty_found;       /* pages found dirty at the round's end (source) */
	unsigned throttle;          /* percent applied during the round */
};

enum mig_outcome {
	MIG_OUTCOME_RUNNING,
	MIG_OUTCOME_COMPLETED,      /* the guest runs on the destination */
	MIG_OUTCOME_FAILED,         /* the guest stays (or was resumed) on the source */
	MIG_OUTCOME_CANCELLED,      /* an operator cancelled; the guest stays on the source */
	MIG_OUTCOME_ABANDONED,      /* pre-copy did not converge; the guest stays on the source */
	MIG_OUTCOME_IN_DOUBT,       /* GO sent, no answer: the guest is paused until resolved */
	MIG_OUTCOME_MISMATCH,       /* verify=after found pages that differ: paused at both ends */
};

/* What the memory digest found (docs/migration.md "Memory digest"). */
enum mig_digest_result {
	MIG_DIGEST_NONE,            /* verify=off, or not reached */
	MIG_DIGEST_MATCH,
	MIG_DIGEST_MISMATCH,
	MIG_DIGEST_NOT_COMPARED,    /* verify=after, but the connection ended before the verdict */
};

/*
 * A report's reason: a peer's whole reason text (MIG_TEXT_MAX) after this side's words
 * for it (at most MIG_REPORT_PREFIX_MAX: "destination aborted (digest-mismatch): ").
 */
#define MIG_REPORT_PREFIX_MAX 48
#define MIG_REPORT_REASON_MAX (MIG_REPORT_PREFIX_MAX + MIG_TEXT_MAX)

struct mig_report {
	enum mig_role role;
	char guest[MIG_NAME_BYTES];
	uint64_t migration_id;
	enum mig_outcome outcome;
	int err;                    /* ferry_err of a failure, 0 otherwise */
	char reason[MIG_REPORT_REASON_MAX + 1];
	uint64_t ram_bytes;
	uint32_t downtime_target_ms;
	uint32_t bandwidth_limit_mbps;
	const char *dirty_mode;
	uint32_t rounds;            /* rounds in total (rows beyond MIG_REPORT_MAX_ROUNDS are summed in the last) */
	struct mig_round_stats round[MIG_REPORT_MAX_ROUNDS];
	uint64_t total_ns;
	uint64_t total_bytes;       /* every byte sent and received on the stream */
	uint64_t page_bytes;        /* wire bytes of PAGES messages */
	uint64_t pages;             /* page records */
	uint64_t throughput_kbps;   /* page_bytes over the pre-copy and stop-and-copy time, KB/s */
	uint64_t downtime_src_ns;   /* source: pause to RESUMED received */
	uint64_t downtime_dst_ns;   /* destination: last pre-copy round end to resume */
	unsigned max_throttle;
	/* The link and the downtime floor (source): the least downtime this link allows. */
	uint64_t bandwidth_bps;     /* the smoothed estimate at the pause (link.h) */
	uint64_t rtt_ns;
	uint64_t state_bytes;
	uint64_t final_bytes;       /* wire bytes of the stop-and-copy: last pages, STATE, DONE */
	uint64_t dest_load_ns;      /* the destination's DONE received to READY queued */
	uint64_t clock_advance_ns;  /* destination: the guest's clock moved on by this at GO */
	/*
	 * Source: where the downtime went, each from the pause: the last dirty collect done,
	 * the state saved (the final pages queued before it), DONE queued, every byte up to
	 * DONE acknowledged by the peer's TCP (0: READY came first), READY received (then GO;
	 * RESUMED received ends downtime_src_ns).
	 */
	uint64_t pause_collected_ns, pause_saved_ns, pause_done_ns, pause_acked_ns, pause_ready_ns;
	uint64_t estimate_ns;       /* the downtime the engine expected when it paused */
	uint64_t floor_ns;          /* final_bytes at bandwidth_bps + rtt_ns + dest_load_ns */
	/* The memory digest. */
	unsigned verify;            /* enum mig_verify */
	unsigned hash;              /* enum mig_hash: the page hash the digest used */
	enum mig_digest_result digest;
	uint64_t verify_ns;         /* source: hashing its RAM; destination: comparing */
	uint32_t digest_group_pages;   /* pages per compared sum (1: pages named exactly) */
	uint32_t digest_differing;  /* sums that differed */
	uint32_t digest_named;
	uint32_t digest_pages[MIG_DIGEST_NAMED_MAX];   /* the first page of each of the first */
};

const char *mig_outcome_name(enum mig_outcome outcome);

const char *mig_digest_result_name(enum mig_digest_result result);

/*
 * Writes the report: a table of rounds (ROUND PAGES ZERO BYTES MS DIRTY THROTTLE)
 * then key=value lines. Returns the full length like snprintf.
 */
size_t mig_report_format(const struct mig_report *r, char *buf, size_t size);

#endif
