/* The link's bandwidth and round trip as the source sees them; see link.h. */
#include "kernel/migration/link.h"

#include "kernel/lib/units.h"

void mig_link_init(struct mig_link *l)
{
	*l = (struct mig_link){ 0 };
}

static uint64_t rate(uint64_t bytes, uint64_t ns)
{
	/* Microseconds first: no overflow below 18 TB in a window. */
	uint64_t us = ns / NS_PER_US;

	return bytes * (NS_PER_S / NS_PER_US) / (us ? us : 1);
}

/* The unsaturated estimate: windows of at least two round trips and MIG_LINK_PEAK_WINDOW_NS. */
static void peak_sample(struct mig_link *l, uint64_t now_ns, uint64_t taken)
{
	uint64_t window = 2 * l->rtt_ns > MIG_LINK_PEAK_WINDOW_NS ? 2 * l->rtt_ns : MIG_LINK_PEAK_WINDOW_NS;
	uint64_t ns = now_ns - l->peak_start_ns;

	if (ns < window)
		return;
	uint64_t bps = rate(taken - l->peak_start_taken, ns);
	if (bps > l->peak_bps)
		l->peak_bps = bps;
	l->peak_start_ns = now_ns;
	l->peak_start_taken = taken;
}

void mig_link_sample(struct mig_link *l, uint64_t now_ns, uint64_t taken, uint64_t queued)
{
	if (!l->started || now_ns < l->last_ns || taken < l->last_taken) {
		l->started = true;
		l->peak_start_ns = now_ns;
		l->peak_start_taken = taken;
	} else {
		if (l->last_queued >= MIG_LINK_SATURATED_BYTES) {
			uint64_t ns = now_ns - l->last_ns, bytes = taken - l->last_taken;
			l->busy_bytes += bytes;
			l->busy_ns += ns;
			l->taken_total += bytes;
			l->busy_total_ns += ns;
			while (l->busy_ns > 2 * MIG_LINK_WINDOW_NS) {
				l->busy_bytes /= 2;
				l->busy_ns /= 2;
			}
		}
		peak_sample(l, now_ns, taken);
	}
	l->last_ns = now_ns;
	l->last_taken = taken;
	l->last_queued = queued;
}

bool mig_link_saturated(const struct mig_link *l)
{
	return l->taken_total >= MIG_LINK_MIN_BYTES && l->busy_total_ns >= MIG_LINK_MIN_NS &&
	       l->busy_ns;
}

uint64_t mig_link_bandwidth(const struct mig_link *l)
{
	return mig_link_saturated(l) ? rate(l->busy_bytes, l->busy_ns) : l->peak_bps;
}

uint64_t mig_link_transfer_ns(const struct mig_link *l, uint64_t bytes)
{
	uint64_t bw = mig_link_bandwidth(l);

	if (!bw)
		return UINT64_MAX;
	return bytes * (NS_PER_S / NS_PER_US) / bw * NS_PER_US +
	       bytes * (NS_PER_S / NS_PER_US) % bw * NS_PER_US / bw;
}

void mig_link_rtt_sample(struct mig_link *l, uint64_t rtt_ns)
{
	if (rtt_ns && (!l->rtt_ns || rtt_ns < l->rtt_ns))
		l->rtt_ns = rtt_ns;
}
