/* The main loop's pollers; see poll.h. */
#include "kernel/poll.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"

#include <stddef.h>

static struct {
	const char *name;
	void (*fn)(void);
	enum poll_kind kind;
} pollers[POLL_MAX];
static unsigned poller_count;
static uint64_t busy_reported_ns;
static bool busy_reported;
static struct {
	bool on;
	uint64_t start_ns, last_ns;   /* the hold's first and last report */
} hold;

int poll_register(const char *name, void (*fn)(void), enum poll_kind kind)
{
	if (poller_count == POLL_MAX)
		return FERR_NOMEM;
	pollers[poller_count].name = name;
	pollers[poller_count].fn = fn;
	pollers[poller_count].kind = kind;
	poller_count++;
	return FERR_OK;
}

/*
 * The console poller runs the operator's commands, whose output may wait for the
 * UART; every other poller writes as background, which never waits (console.h).
 */
static void run_poller(unsigned i)
{
	enum console_context was = console_set_context(
		pollers[i].kind == POLL_CONSOLE ? CONSOLE_OPERATOR : CONSOLE_BACKGROUND);

	pollers[i].fn();
	console_set_context(was);
}

void poll_run_all(void)
{
	for (unsigned i = 0; i < poller_count; i++)
		run_poller(i);
}

bool poll_until(bool (*done)(void *ctx), void *ctx, uint64_t timeout_ms)
{
	uint64_t deadline = clock_ms() + timeout_ms;

	while (!done(ctx)) {
		if (clock_ms() >= deadline)
			return false;
		for (unsigned i = 0; i < poller_count; i++)
			if (pollers[i].kind == POLL_BACKGROUND)
				run_poller(i);
	}
	return true;
}

uint64_t poll_deadline(void)
{
	return clock_ns() + POLL_BUDGET_NS;
}

void poll_report_busy(void)
{
	busy_reported_ns = clock_ns();
	busy_reported = true;
}

bool poll_io_busy(void)
{
	return busy_reported && clock_ns() - busy_reported_ns < POLL_BUSY_HOLD_NS;
}

/* A hold on: from its first report until POLL_HOLD_GAP_NS after its last, at most POLL_HOLD_MAX_NS. */
static bool hold_active(uint64_t now)
{
	return hold.on && now - hold.last_ns < POLL_HOLD_GAP_NS && now - hold.start_ns < POLL_HOLD_MAX_NS;
}

void poll_hold_guests(void)
{
	uint64_t now = clock_ns();

	if (!hold_active(now)) {
		/* Past its bound, a hold rests as long before another may start: the guests run. */
		uint64_t age = now - hold.start_ns;
		if (hold.on && age >= POLL_HOLD_MAX_NS && age < 2 * POLL_HOLD_MAX_NS)
			return;
		hold.on = true;
		hold.start_ns = now;
	}
	hold.last_ns = now;
}

bool poll_guests_held(void)
{
	return hold_active(clock_ns());
}
