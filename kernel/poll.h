/*
 * Ferry's main loop runs without interrupts: the console, the NIC, lwIP's timers
 * and the guests' scheduler are pollers called in turn. A poller must return
 * quickly (it is called thousands of times a second); long work is split into
 * steps kept in the poller's own state.
 */
#ifndef FERRY_POLL_H
#define FERRY_POLL_H

#include <stdbool.h>
#include <stdint.h>

#define POLL_MAX 16

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

#endif
