/*
 * witness: a writer that watches its own progress. It keeps `mib` MiB of RAM stamped
 * page by page (memtest.h: a page's index, its generation and a pattern of both), writes
 * pages at `rate` per second by the hypercall clock or, with rate=0, as fast as it can
 * and not paced by any clock, at random places in the window; it verifies every page
 * continuously against the generation it last wrote there; and it reads the hypercall
 * clock (which goes on across a migration) between every small step of work, keeping
 * the longest gap between two readings: the time it was not running, as it saw it.
 *
 * Lines (docs/guest-abi.md):
 *   witness start base=0xB pages=P rate=R
 *   witness ok written=W passes=V corrupt=K gap_us=G     about once a second
 *   witness CORRUPT page=X gpa=0xA word=N expected=0xE found=0xF
 * G is the longest gap since the previous ok line: after a migration, the first line
 * on the destination holds the guest's own measure of the switchover's downtime.
 * Arguments: mib=8 (at most 32), rate=200 (0: unpaced random writes).
 */
#include "guest_rt.h"
#include "memtest.h"
#include "memtest_verify.h"

#define WITNESS_MAX_MIB 32u
#define PAGES_PER_MIB 256u
#define WITNESS_MAX_PAGES (WITNESS_MAX_MIB * PAGES_PER_MIB)
#define STEP_PAGES 4u          /* pages verified (and, unpaced, written) between clock readings */
#define REPORT_NS NS_PER_SEC
#define NS_PER_US 1000u
#define LCG_MUL 6364136223846793005ull   /* Knuth's MMIX LCG */
#define LCG_ADD 1442695040888963407ull

static uint32_t page_gen[WITNESS_MAX_PAGES];
static uint64_t base;
static uint32_t pages;
static uint64_t written, corrupt_found, lcg_state = 1;
static uint32_t write_cursor;

static volatile uint64_t *page_words(uint32_t page)
{
	return (volatile uint64_t *)(uintptr_t)(base + (uint64_t)page * GUEST_PAGE_BYTES);
}

static void write_page(uint32_t page)
{
	page_gen[page]++;
	memtest_stamp(page_words(page), page, page_gen[page]);
	written++;
}

/* The paced writer goes round the window in order; the unpaced one jumps at random. */
static void write_next(int random)
{
	if (random) {
		lcg_state = lcg_state * LCG_MUL + LCG_ADD;
		write_page((uint32_t)((lcg_state >> 33) % pages));
		return;
	}
	write_page(write_cursor);
	if (++write_cursor == pages)
		write_cursor = 0;
}

/* The ok line through FERRY_HC_PRINT: one exit, where the UART takes one per byte,
 * so that printing is not a gap of its own. */
static char *append(char *at, const char *text)
{
	while (*text)
		*at++ = *text++;
	return at;
}

static char *append_u64(char *at, uint64_t v)
{
	char digits[20];
	unsigned n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*at++ = digits[--n];
	return at;
}

static void report(uint64_t passes, uint64_t gap_ns)
{
	char line[128], *at = line;

	at = append_u64(append(at, "witness ok written="), written);
	at = append_u64(append(at, " passes="), passes);
	at = append_u64(append(at, " corrupt="), corrupt_found);
	at = append_u64(append(at, " gap_us="), gap_ns / NS_PER_US);
	at = append(at, "\n");
	hc_print(line, (uint64_t)(at - line));
}

static void verify_page(uint32_t page)
{
	if (memtest_verify_page("witness", page_words(page), base + (uint64_t)page * GUEST_PAGE_BYTES,
				page, page_gen[page]))
		corrupt_found++;
}

void guest_main(void)
{
	uint64_t start_gpa = (boot_params->free_start + GUEST_PAGE_BYTES - 1) & ~(GUEST_PAGE_BYTES - 1);
	uint64_t free_mib = boot_params->ram_bytes > start_gpa ?
			    (boot_params->ram_bytes - start_gpa) >> 20 : 0;
	uint64_t mib = arg_u64("mib", 8), rate = arg_u64("rate", 200);

	if (!mib || mib > WITNESS_MAX_MIB || mib > free_mib) {
		guest_printf("witness error: mib=%lu does not fit (free %lu MiB, at most %u)\n",
			     (unsigned long)mib, (unsigned long)free_mib, WITNESS_MAX_MIB);
		return;
	}
	base = start_gpa;
	pages = (uint32_t)(mib * PAGES_PER_MIB);
	for (uint32_t p = 0; p < pages; p++)
		write_page(p);
	guest_printf("witness start base=0x%lx pages=%u rate=%lu\n", (unsigned long)base, pages,
		     (unsigned long)rate);

	uint64_t last = clock_ns(), paced_start = last, paced_writes = 0, last_report = last;
	uint64_t gap_max = 0, passes = 0;
	uint32_t verify_cursor = 0;

	for (;;) {
		for (uint32_t i = 0; i < STEP_PAGES; i++) {
			verify_page(verify_cursor);
			if (++verify_cursor == pages) {
				verify_cursor = 0;
				passes++;
			}
		}
		uint64_t now = clock_ns();
		if (now - last > gap_max)
			gap_max = now - last;
		last = now;
		if (rate == 0) {
			for (uint32_t i = 0; i < STEP_PAGES; i++)
				write_next(1);
		} else {
			uint64_t due = (now - paced_start) / NS_PER_US * rate / 1000000 - paced_writes;
			if (due > rate) {   /* far behind (paused): drop the backlog rather than burst */
				paced_start = now;
				paced_writes = 0;
				due = 0;
			}
			for (; due; due--, paced_writes++)
				write_next(0);
		}
		if (now - last_report >= REPORT_NS) {
			report(passes, gap_max);
			last_report = now;
			gap_max = 0;
		}
	}
}
