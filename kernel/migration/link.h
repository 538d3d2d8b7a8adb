/*
 * What a migration's source knows of its link to the destination: the bandwidth the
 * peer actually takes, smoothed over a window long enough to mean something, and the
 * round trip. The engine's estimate of the final transfer (engine_precopy.c) and the
 * report's downtime floor are built on them.
 *
 * The bandwidth counts saturated time only: an interval between two samples counts
 * when the transport held at least MIG_LINK_SATURATED_BYTES the peer had not taken at
 * its start, more than a round trip's worth on Ferry's links, so that the link and not
 * the round trip or the source's own pace set the rate. A round of 2 ms (which on its
 * own measures latency) adds 2 ms to a window that already holds round 0. Bytes and
 * time are summed from the first sample on and both halved whenever the time passes
 * 2 x MIG_LINK_WINDOW_NS: the estimate is the rate over about the last one to two
 * windows of saturated time, given once MIG_LINK_MIN_BYTES were taken over at least
 * MIG_LINK_MIN_NS.
 *
 * A source that never saturates its link (it is slower than the link: an idle guest's
 * round 0 is mostly zero pages, which cost reading and little sending) gets instead
 * the highest rate the peer took bytes at over any window of at least two round trips
 * and MIG_LINK_PEAK_WINDOW_NS: a lower bound of the link's rate that one round trip's
 * latency does not dominate.
 *
 * The round trip is the shortest one sampled (the handshake's HELLO and AUTH
 * exchanges: both ends idle, as at the switchover). Portable, no I/O; times in ns.
 */
#ifndef FERRY_MIGRATION_LINK_H
#define FERRY_MIGRATION_LINK_H

#include <stdbool.h>
#include <stdint.h>

#define MIG_LINK_WINDOW_NS      1000000000ull   /* 1 s of saturated time */
#define MIG_LINK_MIN_NS         1000000ull      /* 1 ms */
#define MIG_LINK_MIN_BYTES      (64u * 1024)
#define MIG_LINK_SATURATED_BYTES (32u * 1024)
#define MIG_LINK_PEAK_WINDOW_NS 10000000ull     /* 10 ms */

struct mig_link {
	uint64_t busy_bytes, busy_ns;     /* the smoothed saturated window */
	uint64_t taken_total, busy_total_ns;   /* saturated, since the start: the minimum's test */
	uint64_t last_ns, last_taken, last_queued;
	bool started;
	uint64_t peak_start_ns, peak_start_taken;   /* the unsaturated estimate's window */
	uint64_t peak_bps;
	uint64_t rtt_ns;                  /* 0: none sampled */
};

void mig_link_init(struct mig_link *l);
/* A sample now: bytes the peer has taken so far (monotonic), bytes still waiting for it. */
void mig_link_sample(struct mig_link *l, uint64_t now_ns, uint64_t taken, uint64_t queued);
/* Bytes per second; 0 while unknown. */
uint64_t mig_link_bandwidth(const struct mig_link *l);
/* True when the bandwidth comes from saturated time (else from the peak, or unknown). */
bool mig_link_saturated(const struct mig_link *l);
/* Time to move `bytes` at the bandwidth; UINT64_MAX while unknown. */
uint64_t mig_link_transfer_ns(const struct mig_link *l, uint64_t bytes);
void mig_link_rtt_sample(struct mig_link *l, uint64_t rtt_ns);

#endif
