/*
 * The migration report formatter (report.h), shared by the shell and the tests.
 */
#include "kernel/migration/report.h"

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/migration/digest.h"

const char *mig_outcome_name(enum mig_outcome outcome)
{
	switch (outcome) {
	case MIG_OUTCOME_RUNNING:   return "running";
	case MIG_OUTCOME_COMPLETED: return "completed";
	case MIG_OUTCOME_FAILED:    return "failed";
	case MIG_OUTCOME_CANCELLED: return "cancelled";
	case MIG_OUTCOME_ABANDONED: return "abandoned";
	case MIG_OUTCOME_IN_DOUBT:  return "in-doubt";
	case MIG_OUTCOME_MISMATCH:  return "mismatch";
	}
	return "unknown";
}

const char *mig_digest_result_name(enum mig_digest_result result)
{
	switch (result) {
	case MIG_DIGEST_NONE:         return "-";
	case MIG_DIGEST_MATCH:        return "match";
	case MIG_DIGEST_MISMATCH:     return "mismatch";
	case MIG_DIGEST_NOT_COMPARED: return "not-compared";
	}
	return "unknown";
}

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->size ? o->size - o->len : 0;

	va_start(ap, fmt);
	o->len += fmt_vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
}

/* Milliseconds with three decimals, in integers (the image has no floating point). */
static void put_ms(struct out *o, const char *key, uint64_t ns)
{
	put(o, "%s=%llu.%03llu", key, (unsigned long long)(ns / NS_PER_MS),
	    (unsigned long long)(ns % NS_PER_MS / NS_PER_US));
}

size_t mig_report_format(const struct mig_report *r, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	uint32_t rows = r->rounds < MIG_REPORT_MAX_ROUNDS ? r->rounds : MIG_REPORT_MAX_ROUNDS;

	if (size)
		buf[0] = '\0';
	put(&o, "%-6s %10s %10s %12s %10s %10s %8s\n", "ROUND", "PAGES", "ZERO", "BYTES", "MS",
	    "DIRTY", "THROTTLE");
	for (uint32_t i = 0; i < rows; i++) {
		const struct mig_round_stats *s = &r->round[i];
		char round[16];
		fmt_snprintf(round, sizeof(round), "%u%s", s->round, s->final ? "*" : "");
		put(&o, "%-6s %10llu %10llu %12llu %10llu %10llu %7u%%\n", round,
		    (unsigned long long)s->pages, (unsigned long long)s->zero_pages,
		    (unsigned long long)s->bytes, (unsigned long long)(s->duration_ns / NS_PER_MS),
		    (unsigned long long)s->dirty_found, s->throttle);
	}
	put(&o, "migration guest=%s role=%s id=%016llx outcome=%s", r->guest,
	    r->role == MIG_ROLE_SOURCE ? "source" : "destination",
	    (unsigned long long)r->migration_id, mig_outcome_name(r->outcome));
	if (r->err)
		put(&o, " error=\"%s\"", err_name(r->err));
	put(&o, "\n");
	if (r->reason[0])
		put(&o, "reason=\"%s\"\n", r->reason);
	put(&o, "rounds=%u pages=%llu ram_bytes=%llu page_bytes=%llu total_bytes=%llu",
	    r->rounds, (unsigned long long)r->pages, (unsigned long long)r->ram_bytes,
	    (unsigned long long)r->page_bytes, (unsigned long long)r->total_bytes);
	if (r->ram_bytes)
		put(&o, " sent_over_ram_pct=%llu",
		    (unsigned long long)(r->page_bytes * 100 / r->ram_bytes));
	put(&o, "\n");
	put_ms(&o, "time_ms", r->total_ns);
	put(&o, " throughput_kbps=%llu ", (unsigned long long)r->throughput_kbps);
	put_ms(&o, "downtime_source_ms", r->downtime_src_ns);
	put(&o, " ");
	put_ms(&o, "downtime_dest_ms", r->downtime_dst_ns);
	put(&o, " downtime_target_ms=%u ", r->downtime_target_ms);
	put_ms(&o, "downtime_floor_ms", r->floor_ns);
	put(&o, "\n");
	put(&o, "max_throttle_pct=%u bandwidth_limit_mbps=%u dirty_mode=%s verify=%s hash=%s digest=%s ",
	    r->max_throttle, r->bandwidth_limit_mbps, r->dirty_mode ? r->dirty_mode : "-",
	    mig_verify_name(r->verify), r->verify ? mig_hash_name(r->hash) : "-",
	    mig_digest_result_name(r->digest));
	put_ms(&o, "verify_ms", r->verify_ns);
	if (r->digest == MIG_DIGEST_MISMATCH) {
		put(&o, " digest_differing=%u digest_group_pages=%u digest_pages=", r->digest_differing,
		    r->digest_group_pages);
		for (uint32_t i = 0; i < r->digest_named; i++)
			put(&o, "%s%u", i ? "," : "", r->digest_pages[i]);
	}
	put(&o, "\nlink_kbps=%llu ", (unsigned long long)(r->bandwidth_bps / KB_DECIMAL));
	put_ms(&o, "rtt_ms", r->rtt_ns);
	put(&o, " state_bytes=%llu final_bytes=%llu ", (unsigned long long)r->state_bytes,
	    (unsigned long long)r->final_bytes);
	put_ms(&o, "dest_load_ms", r->dest_load_ns);
	put(&o, " ");
	put_ms(&o, "estimate_ms", r->estimate_ns);
	if (r->role == MIG_ROLE_DEST) {
		put(&o, " ");
		put_ms(&o, "guest_clock_advanced_ms", r->clock_advance_ns);
	} else if (r->pause_ready_ns) {
		/* Where the source's downtime went, each step from the pause. */
		const struct { const char *key; uint64_t ns; } steps[] = {
			{ "paused_collected_ms", r->pause_collected_ns }, { "paused_saved_ms", r->pause_saved_ns },
			{ "paused_done_ms", r->pause_done_ns }, { "paused_acked_ms", r->pause_acked_ns },
			{ "paused_ready_ms", r->pause_ready_ns },
		};
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			put(&o, " ");
			put_ms(&o, steps[i].key, steps[i].ns);
		}
	}
	put(&o, "\n");
	return o.len;
}
