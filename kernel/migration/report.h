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
};

struct mig_report {
	enum mig_role role;
	char guest[MIG_NAME_BYTES];
	uint64_t migration_id;
	enum mig_outcome outcome;
	int err;                    /* ferry_err of a failure, 0 otherwise */
	char reason[MIG_TEXT_MAX + 1];
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
};

const char *mig_outcome_name(enum mig_outcome outcome);

/*
 * Writes the report: a table of rounds (ROUND PAGES ZERO BYTES MS DIRTY THROTTLE)
 * then key=value lines. Returns the full length like snprintf.
 */
size_t mig_report_format(const struct mig_report *r, char *buf, size_t size);

#endif
