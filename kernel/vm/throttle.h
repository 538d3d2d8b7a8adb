/*
 * Throttling a vCPU by time, as QEMU's cpu-throttle does (softmmu/cpu-throttle.c):
 * a vCPU throttled at p% runs at most (100 - p)% of wall time, whatever it does.
 *
 * After each run of r ns the vCPU is kept off the CPU for r * p / (100 - p) ns, so
 * every run and the rest after it together hold the share exactly; a guest that
 * never yields gets no more than one that halts at once. While throttled a run is
 * also cut to THROTTLE_RUN_MAX_NS, so that the window (a run and its rest) stays
 * short: at 95% a run of 2 ms and a rest of 38 ms, where a whole 10 ms slice would
 * leave the guest stopped for 190 ms at a time.
 *
 * What the vCPU actually got is measured too: the share of wall time it ran over
 * the last completed window of THROTTLE_SHARE_WINDOW_NS (`vminfo`'s cpu=), whether
 * a throttle, its neighbours or its own halts kept it below 100%.
 *
 * The scheduler (kernel/vm/vm.c) asks throttle_may_run() before a slice, bounds the
 * slice with throttle_slice_ns() and reports the run with throttle_ran(). Times are
 * nanoseconds of one monotonic clock, passed in: portable, host-tested
 * (tests/unit/test_vm_throttle.c).
 */
#ifndef FERRY_VM_THROTTLE_H
#define FERRY_VM_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#define THROTTLE_MAX_PERCENT 99            /* QEMU's cpu-throttle-maximum default */
#define THROTTLE_RUN_MAX_NS 2000000ull           /* 2 ms: the longest run while throttled */
#define THROTTLE_SHARE_WINDOW_NS 1000000000ull   /* 1 s: the window `cpu=` is measured over */

struct vm_throttle {
	unsigned percent;            /* 0..THROTTLE_MAX_PERCENT: the share of wall time kept off */
	uint64_t resume_ns;          /* the vCPU rests until this time */
	uint64_t held;               /* scheduler turns it was passed over for resting */
	/* the share it got: the window being measured and the last one completed */
	uint64_t window_start_ns, window_run_ns;
	unsigned share_percent;      /* of the last completed window */
	bool share_known;
};

void throttle_init(struct vm_throttle *t, uint64_t now_ns);
/* Sets the share kept off the CPU; FERR_RANGE above THROTTLE_MAX_PERCENT. 0 ends a rest at once. */
int throttle_set(struct vm_throttle *t, unsigned percent);
/* True when the vCPU may run now; false counts one turn passed over (`held`). */
bool throttle_may_run(struct vm_throttle *t, uint64_t now_ns);
/* The slice to run: slice_ns, cut to THROTTLE_RUN_MAX_NS while throttled. */
uint64_t throttle_slice_ns(const struct vm_throttle *t, uint64_t slice_ns);
/* The vCPU ran from start_ns to end_ns: its rest and its share follow from that. */
void throttle_ran(struct vm_throttle *t, uint64_t start_ns, uint64_t end_ns);
/*
 * The share of wall time (percent) the vCPU ran over the last completed window;
 * 0 once it has not run for two windows (paused, stopped, or never let run).
 */
unsigned throttle_share(const struct vm_throttle *t, uint64_t now_ns);

#endif
