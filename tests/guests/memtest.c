/*
 * memtest: keeps `mib` MiB of RAM from the first page at or after free_start filled
 * with page-unique, generation-stamped content (memtest.h), rewrites pages in order
 * at `rate` pages per second, and re-verifies every page continuously. Lines (exact
 * formats in docs/guest-abi.md):
 *   memtest start base=0xB pages=P rate=R        after the first fill (generation 1)
 *   memtest ok gen=G pages=P written=W passes=V corrupt=K      about once a second
 *   memtest wrote first=A count=C                 (report_writes=1) before each ok line
 *   memtest CORRUPT page=X gpa=0xA word=N expected=0xE found=0xF
 * Arguments: mib= (default 3/4 of free RAM, at most 32), rate=200 (0: as fast as
 * possible), report_writes=0.
 */
#include "guest_rt.h"
#include "memtest.h"
#include "memtest_verify.h"

#define MEMTEST_MAX_MIB 32u
#define PAGES_PER_MIB 256u
#define MEMTEST_MAX_PAGES (MEMTEST_MAX_MIB * PAGES_PER_MIB)
#define VERIFY_CHUNK 16u     /* pages verified between looks at the clock */
#define FAST_WRITE_CHUNK 16u /* pages written per step when rate=0 */
#define REPORT_NS NS_PER_SEC

static uint32_t page_gen[MEMTEST_MAX_PAGES];

static uint64_t base;
static uint32_t pages;
static uint64_t written;
static uint32_t write_cursor;
static uint32_t write_gen = 1;        /* generation of the sweep being written */
static uint64_t corrupt_found;

static volatile uint64_t *page_words(uint32_t page)
{
	return (volatile uint64_t *)(uintptr_t)(base + (uint64_t)page * GUEST_PAGE_BYTES);
}

static void write_next_page(void)
{
	page_gen[write_cursor] = write_gen;
	memtest_stamp(page_words(write_cursor), write_cursor, write_gen);
	written++;
	if (++write_cursor == pages) {
		write_cursor = 0;
		write_gen++;
	}
}

static void verify_page(uint32_t page)
{
	if (memtest_verify_page("memtest", page_words(page), base + (uint64_t)page * GUEST_PAGE_BYTES,
				page, page_gen[page]))
		corrupt_found++;
}

void guest_main(void)
{
	uint64_t start_gpa = (boot_params->free_start + GUEST_PAGE_BYTES - 1) & ~(GUEST_PAGE_BYTES - 1);
	uint64_t free_mib = boot_params->ram_bytes > start_gpa ?
			    (boot_params->ram_bytes - start_gpa) >> 20 : 0;
	uint64_t fallback = free_mib * 3 / 4;
	uint64_t mib, rate = arg_u64("rate", 200);
	int report_writes = (int)arg_u64("report_writes", 0);

	if (fallback > MEMTEST_MAX_MIB)
		fallback = MEMTEST_MAX_MIB;
	if (!fallback)
		fallback = 1;
	mib = arg_u64("mib", fallback);
	if (!mib || mib > MEMTEST_MAX_MIB || mib > free_mib) {
		guest_printf("memtest error: mib=%lu does not fit (free %lu MiB, at most %u)\n",
			     (unsigned long)mib, (unsigned long)free_mib, MEMTEST_MAX_MIB);
		return;
	}
	base = start_gpa;
	pages = (uint32_t)(mib * PAGES_PER_MIB);

	for (uint32_t p = 0; p < pages; p++)
		write_next_page();
	guest_printf("memtest start base=0x%lx pages=%u rate=%lu\n", (unsigned long)base, pages,
		     (unsigned long)rate);

	uint64_t paced_start = clock_ns(), paced_writes = 0;
	uint64_t last_report = paced_start, passes = 0;
	uint32_t verify_cursor = 0, reported_cursor = write_cursor;
	uint64_t reported_written = written;

	for (;;) {
		for (uint32_t i = 0; i < VERIFY_CHUNK; i++) {
			verify_page(verify_cursor);
			if (++verify_cursor == pages) {
				verify_cursor = 0;
				passes++;
			}
		}
		uint64_t now = clock_ns();
		if (rate == 0) {
			for (uint32_t i = 0; i < FAST_WRITE_CHUNK; i++)
				write_next_page();
		} else {
			uint64_t due = (now - paced_start) / 1000 * rate / 1000000 - paced_writes;
			/* Far behind (a paused guest): drop the backlog rather than burst. */
			if (due > rate) {
				paced_start = now;
				paced_writes = 0;
				due = 0;
			}
			for (; due; due--, paced_writes++)
				write_next_page();
		}
		if (now - last_report >= REPORT_NS) {
			if (report_writes) {
				guest_printf("memtest wrote first=%u count=%lu\n", reported_cursor,
					     (unsigned long)(written - reported_written));
				reported_cursor = write_cursor;
				reported_written = written;
			}
			guest_printf("memtest ok gen=%u pages=%u written=%lu passes=%lu corrupt=%lu\n",
				     write_gen, pages, (unsigned long)written, (unsigned long)passes,
				     (unsigned long)corrupt_found);
			last_report = now;
		}
	}
}
