/* Throttling a vCPU by time; see throttle.h. Portable. */
#include "kernel/vm/throttle.h"

#include "kernel/lib/errors.h"

#define PERCENT 100u

void throttle_init(struct vm_throttle *t, uint64_t now_ns)
{
	*t = (struct vm_throttle){ .window_start_ns = now_ns };
}

int throttle_set(struct vm_throttle *t, unsigned percent)
{
	if (percent > THROTTLE_MAX_PERCENT)
		return FERR_RANGE;
	t->percent = percent;
	if (!percent)
		t->resume_ns = 0;
	return FERR_OK;
}

bool throttle_may_run(struct vm_throttle *t, uint64_t now_ns)
{
	if (now_ns >= t->resume_ns)
		return true;
	t->held++;
	return false;
}

uint64_t throttle_slice_ns(const struct vm_throttle *t, uint64_t slice_ns)
{
	return t->percent && slice_ns > THROTTLE_RUN_MAX_NS ? THROTTLE_RUN_MAX_NS : slice_ns;
}

static unsigned percent_of(uint64_t part, uint64_t whole)
{
	if (!whole)
		return 0;
	uint64_t pct = part >= whole ? PERCENT : part * PERCENT / whole;
	return (unsigned)pct;
}

void throttle_ran(struct vm_throttle *t, uint64_t start_ns, uint64_t end_ns)
{
	uint64_t ran = end_ns > start_ns ? end_ns - start_ns : 0;

	/* Rest r * p / (100 - p): the run and the rest hold (100 - p)% of their time. */
	if (t->percent)
		t->resume_ns = end_ns + ran * t->percent / (PERCENT - t->percent);
	if (start_ns < t->window_start_ns)   /* a run that began before the window opened */
		ran = end_ns > t->window_start_ns ? end_ns - t->window_start_ns : 0;
	t->window_run_ns += ran;
	if (end_ns - t->window_start_ns >= THROTTLE_SHARE_WINDOW_NS) {
		t->share_percent = percent_of(t->window_run_ns, end_ns - t->window_start_ns);
		t->share_known = true;
		t->window_start_ns = end_ns;
		t->window_run_ns = 0;
	}
}

unsigned throttle_share(const struct vm_throttle *t, uint64_t now_ns)
{
	uint64_t open = now_ns > t->window_start_ns ? now_ns - t->window_start_ns : 0;

	/* Not run for two windows: what it got over the whole silence, close to nothing. */
	if (open >= 2 * THROTTLE_SHARE_WINDOW_NS || !t->share_known)
		return percent_of(t->window_run_ns, open);
	return t->share_percent;
}
