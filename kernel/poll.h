/*
 * Ferry's main loop runs without interrupts: the console, the NIC, lwIP's timers
 * and the guests' scheduler are pollers called in turn. A poller must return
 * quickly (it is called thousands of times a second); long work is split into
 * steps kept in the poller's own state.
 *
 * Pace: a poller with more work than one turn holds (a ring of received frames, a
 * migration with pages to send) works until its turn's deadline, poll_deadline(),
 * a time budget rather than a count of frames or pages, and says so with
 * poll_report_busy(). While a report is recent (POLL_BUSY_HOLD_NS) poll_io_busy()
 * is true and the guests' scheduler runs short slices, so that a CPU-bound guest
 * does not starve the I/O of a turn for a whole slice.
 *
 * Holds: where a poller's work is a guest's downtime (a migration's stop-and-copy and
 * hand-over, the migrating guest paused on one host and not yet running on the other),
 * it says so with poll_hold_guests() each turn, and the scheduler gives the other
 * guests no slices while poll_guests_held(): on one CPU, a neighbour's slices would
 * lengthen the pause by their share of it. A hold lapses POLL_HOLD_GAP_NS after its
 * last report, and lasts at most POLL_HOLD_MAX_NS however often it is renewed (a peer
 * that stalls the hand-over cannot starve the guests); then the guests run for
 * POLL_HOLD_MAX_NS before another hold can start.
 */
#ifndef FERRY_POLL_H
#define FERRY_POLL_H

#include <stdbool.h>
#include <stdint.h>

#define POLL_MAX 16
#define POLL_BUDGET_NS    2000000ull     /* 2 ms: one poller's turn while it has work */
#define POLL_BUSY_HOLD_NS 100000000ull   /* 100 ms: how long a busy report keeps slices short */
#define POLL_HOLD_GAP_NS  POLL_BUDGET_NS /* a hold lapses a turn after its last report */
#define POLL_HOLD_MAX_NS  100000000ull   /* 100 ms, twice the default downtime target */

enum poll_kind {
	POLL_BACKGROUND,   /* runs always, also while a command waits (poll_until); its console output never waits */
	POLL_CONSOLE,      /* reads commands: not run while a command waits; writes as the operator */
};

/* Adds a poller; returns 0, or FERR_NOMEM past POLL_MAX. */
int poll_register(const char *name, void (*fn)(void), enum poll_kind kind);

/* Calls every poller once. */
void poll_run_all(void);

/*
 * Runs the background pollers until done(ctx) is true or timeout_ms passes;
 * returns true when done. For commands that wait on the network or a guest
 * while the machine keeps running.
 */
bool poll_until(bool (*done)(void *ctx), void *ctx, uint64_t timeout_ms);

/* The end of a turn that starts now (clock_ns() + POLL_BUDGET_NS). */
uint64_t poll_deadline(void);
/* A poller has I/O work going on (a migration, heavy traffic): keeps slices short a while. */
void poll_report_busy(void);
/* True within POLL_BUSY_HOLD_NS of the last poll_report_busy(). */
bool poll_io_busy(void);
/* A poller's work is a guest's downtime now: the other guests wait (see above). */
void poll_hold_guests(void);
/* True while a hold keeps the guests from running. */
bool poll_guests_held(void);

#endif
