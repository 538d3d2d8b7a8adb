/*
 * The memory digest of both roles (digest.h, docs/migration.md "Memory digest").
 *
 * Source: once the guest is paused for good (verify=before: in the stop-and-copy,
 * while the last pages drain; verify=after: after RESUMED, its copy frozen), it hashes
 * its RAM a bounded time per step and queues the sums as each message fills: groups
 * of pages before (MIG_DIGEST_GROUPS sums), every page after. With verify=after it then
 * waits for the destination's verdict: a match completes the migration, a mismatch
 * keeps the copy paused here (MIG_OUTCOME_MISMATCH) for the operator.
 *
 * Destination: it hashed each page as it arrived (the last arrival is the final
 * version) and compares the source's sums as they come. verify=before: a difference
 * is an ABORT digest-mismatch before READY, so the guest never runs here and resumes
 * on the source. verify=after: the guest already runs; once every sum came the verdict
 * goes back, and a difference pauses the guest here for the operator. Portable.
 */
#include "kernel/migration/engine_internal.h"

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

/* One step's share of hashing: the console and the NIC share the poller loop. */
#define DIGEST_STEP_NS NS_PER_MS
/*
 * Timing the two hashes: HASH_SAMPLE_ROUNDS turns of HASH_SAMPLE_PAGES pages each,
 * alternating, the fastest turn of each kept (an emulator's host may stall any one).
 */
#define HASH_SAMPLE_PAGES 8u
#define HASH_SAMPLE_ROUNDS 8u

static uint32_t group_pages(const struct mig_engine *e, unsigned verify)
{
	return verify == MIG_VERIFY_BEFORE ? mig_digest_group_pages(e->pages) : 1;
}

static void note_differing(struct mig_report *r, uint32_t first_page)
{
	r->digest_differing++;
	if (r->digest_named < MIG_DIGEST_NAMED_MAX)
		r->digest_pages[r->digest_named++] = first_page;
}

void mig_digest_describe(const struct mig_report *r, char *text, size_t size)
{
	size_t at = 0;

	at += fmt_snprintf(text, size, "%u %s differ (pages ", r->digest_differing,
			   r->digest_group_pages > 1 ? "groups of pages" : "pages");
	for (uint32_t i = 0; i < r->digest_named && at < size; i++) {
		uint32_t first = r->digest_pages[i], last = first + r->digest_group_pages - 1;
		at += fmt_snprintf(text + at, size - at, i ? "," : "");
		if (at < size)
			at += last > first ? fmt_snprintf(text + at, size - at, "%u-%u", first, last)
					   : fmt_snprintf(text + at, size - at, "%u", first);
	}
	if (at < size)
		fmt_snprintf(text + at, size - at, "%s)", r->digest_differing > r->digest_named ? ",..." : "");
}

/* ---- the source ------------------------------------------------------------------------ */

/* ns per page of `hash` over pages [first, first + HASH_SAMPLE_PAGES) of the guest. */
static uint64_t time_hash(struct mig_engine *e, unsigned hash, uint64_t first)
{
	const uint8_t *ram = mig_gops(e)->ram(e->guest);
	uint64_t start = mig_now(e);
	volatile uint32_t sink = 0;

	for (uint64_t p = first; p < first + HASH_SAMPLE_PAGES && p < e->pages; p++)
		sink ^= mig_page_hash(hash, ram + (p << MIG_PAGE_SHIFT));
	(void)sink;
	return (mig_now(e) - start) / HASH_SAMPLE_PAGES;
}

void mig_digest_src_choose(struct mig_engine *e)
{
	uint64_t crc = UINT64_MAX, mix = UINT64_MAX;

	if (e->params.verify == MIG_VERIFY_OFF)
		return;
	for (unsigned i = 0; i < HASH_SAMPLE_ROUNDS; i++) {
		uint64_t first = (uint64_t)i * HASH_SAMPLE_PAGES;
		uint64_t c = time_hash(e, MIG_HASH_CRC32C, first), m = time_hash(e, MIG_HASH_MIX64, first);
		crc = c < crc ? c : crc;
		mix = m < mix ? m : mix;
	}
	e->hash = mix < crc ? MIG_HASH_MIX64 : MIG_HASH_CRC32C;
	e->src.hash_ns_per_page = mix < crc ? mix : crc;
	e->report.hash = e->hash;
	mig_say(e, "migration %s: digest by %s (%llu ns a page; %s %llu)", e->report.guest,
		mig_hash_name(e->hash), (unsigned long long)e->src.hash_ns_per_page,
		mig_hash_name(e->hash == MIG_HASH_MIX64 ? MIG_HASH_CRC32C : MIG_HASH_MIX64),
		(unsigned long long)(mix < crc ? crc : mix));
}

void mig_digest_src_begin(struct mig_engine *e)
{
	struct mig_engine_src *s = &e->src;

	s->hash_cursor = 0;
	s->sums_ready = s->sums_first = 0;
	s->digest_sent = false;
	s->verify_start_ns = mig_now(e);
	e->report.digest_group_pages = group_pages(e, e->params.verify);
}

/* The hash of the next group of pages into sums[]. */
static void hash_group(struct mig_engine *e, uint32_t gp)
{
	struct mig_engine_src *s = &e->src;
	const uint8_t *ram = mig_gops(e)->ram(e->guest);
	uint64_t first = s->hash_cursor;
	uint32_t n = e->pages - first < gp ? (uint32_t)(e->pages - first) : gp;

	for (uint32_t i = 0; i < n; i++)
		s->buffers->group_hashes[i] = mig_page_hash(e->hash, ram + ((first + i) << MIG_PAGE_SHIFT));
	s->buffers->sums[s->sums_ready++] = mig_digest_sum(s->buffers->group_hashes, n);
	s->hash_cursor = first + n;
}

bool mig_digest_src_step(struct mig_engine *e)
{
	struct mig_engine_src *s = &e->src;
	uint32_t gp = group_pages(e, e->params.verify);
	uint32_t total = mig_digest_sum_count(e->pages, gp);
	uint64_t deadline = mig_now(e) + DIGEST_STEP_NS;

	while (!s->digest_sent) {
		bool last = s->sums_first + s->sums_ready == total;
		if (s->sums_ready == MIG_DIGEST_SUMS_MAX || (last && s->sums_ready)) {
			int rc = mig_src_digest(&e->proto.src, s->sums_first, gp, s->sums_ready,
						 s->buffers->sums);
			if (rc == FERR_BUSY)
				return false;
			if (rc) {   /* out of turn: cannot happen; the peer then refuses DONE */
				e->report.digest = MIG_DIGEST_NOT_COMPARED;
				break;
			}
			s->sums_first += s->sums_ready;
			s->sums_ready = 0;
			s->digest_sent = s->sums_first == total;
			continue;
		}
		if (mig_now(e) >= deadline)
			return false;
		hash_group(e, gp);
	}
	e->report.verify_ns = mig_now(e) - s->verify_start_ns;
	return true;
}

void mig_digest_src_verdict(struct mig_engine *e, const struct mig_digest *verdict)
{
	struct mig_report *r = &e->report;
	char pages[MIG_TEXT_MAX], why[MIG_TEXT_MAX + 1];

	r->digest_differing = verdict->differing;
	r->digest_named = verdict->named;
	for (uint32_t i = 0; i < verdict->named; i++)
		r->digest_pages[i] = verdict->pages[i];
	if (!verdict->differing) {
		r->digest = MIG_DIGEST_MATCH;
		mig_src_complete(e);
		return;
	}
	/* The copy here is kept, paused and migrating, as in doubt: the operator decides. */
	r->digest = MIG_DIGEST_MISMATCH;
	mig_digest_describe(r, pages, sizeof(pages));
	fmt_snprintf(why, sizeof(why), "digest mismatch after the switchover: %s", pages);
	mig_set_reason(e, FERR_PROTO, why);
	mig_close_conn(e, true);
	mig_say(e, "migration %s: %s; guest paused here and at the destination: see migrate-resolve",
		r->guest, why);
	mig_finish(e, MIG_OUTCOME_MISMATCH);
}

int mig_digest_src_resolve(struct mig_engine *e, bool dest_runs)
{
	if (e->role != MIG_ROLE_SOURCE || e->report.outcome != MIG_OUTCOME_MISMATCH || !e->guest)
		return FERR_INVAL;
	if (dest_runs) {
		mig_src_drop_guest(e);
		e->report.outcome = MIG_OUTCOME_COMPLETED;
		mig_set_reason(e, 0, "resolved by the operator: the destination's copy is kept, "
			       "digest mismatch and all");
	} else {
		mig_src_restore_guest(e);
		e->report.outcome = MIG_OUTCOME_FAILED;
		mig_set_reason(e, FERR_IO, "resolved by the operator: the copy here is the good one; "
			       "resumed here");
	}
	mig_say(e, "migration %s: %s: %s", e->report.guest, mig_outcome_name(e->report.outcome),
		e->report.reason);
	return 0;
}

/* ---- the destination --------------------------------------------------------------------- */

void mig_digest_dst_page(struct mig_engine *e, uint32_t page, const uint8_t *data)
{
	if (e->dst.verify != MIG_VERIFY_OFF)
		e->dst.buffers->page_hash[page] = mig_page_hash(e->hash, data);
}

void mig_digest_dst_sums(struct mig_engine *e, const struct mig_digest *sums)
{
	struct mig_report *r = &e->report;
	uint64_t start = mig_now(e);

	r->digest_group_pages = sums->group_pages;
	for (uint32_t i = 0; i < sums->count; i++) {
		uint64_t first = (uint64_t)(sums->first + i) * sums->group_pages;
		uint32_t n = e->pages - first < sums->group_pages ? (uint32_t)(e->pages - first)
								   : sums->group_pages;
		if (mig_digest_sum(&e->dst.buffers->page_hash[first], n) != mig_digest_entry(sums, i))
			note_differing(r, (uint32_t)first);
	}
	r->verify_ns += mig_now(e) - start;
}
