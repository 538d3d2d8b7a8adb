/* A Multiboot guest for QEMU that dirties its memory at a steady rate, so that QEMU's
 * live migration can be measured against Ferry's with the same workload.
 *
 * Command line (`-append`): `rate=N`, pages per second (0: write nothing). The guest
 * stamps successive 4 KiB pages of a window of about 56 MiB at that rate, round and round,
 * halting between the ticks of a 1 kHz PIT interrupt. A verifier sweeps the window at
 * VERIFY_PAGES_PER_TICK pages a tick (a sweep of 56 MiB takes about 3.6 s) and checks that
 * every page written holds the stamp of its last write: a page a migration lost or sent
 * stale is counted (and repaired, so it is counted once). It prints to COM1:
 *   dirty_guest: ready rate=N pages=P tsc_hz=H
 *   dirty_guest: seconds=S written=W pass=G sweeps=V corrupt=C     (once a second)
 * The benchmark waits for the first line, and reads the others to see that the guest
 * still runs on the destination after a migration and, after whole sweeps there, how
 * many pages were wrong. */
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "multiboot.h"
#include "serial.h"
#include "ticker.h"

#define PAGE_BYTES        4096u
#define MIB               (1024u * 1024u)
#define WINDOW_START      (7u * MIB)   /* above the image, its stack and the boot data */
#define WINDOW_END        (63u * MIB)  /* below the firmware tables at the top of 64 MiB */
#define RESERVED_AT_TOP   (1u * MIB)
#define STAMP_MAGIC       0x44495254u  /* "DIRT" */
/* After a stall longer than this (a migration's stop-and-copy), drop the backlog rather
 * than writing it in one burst. */
#define MAX_BACKLOG_MS    100u
#define MS_PER_SECOND     1000u
/* The guest halts between ticks and writes the pages due at each: at most
 * rate / TICKS_PER_SECOND pages in a burst. */
#define TICKS_PER_SECOND  1000u
#define VERIFY_PAGES_PER_TICK 4u

struct page_stamp {
	uint32_t magic;
	uint32_t pass;
	uint32_t page;
};

static uint32_t parse_rate(const char *cmdline)
{
	static const char key[] = "rate=";
	for (const char *p = cmdline; *p; p++) {
		if (p != cmdline && p[-1] != ' ')
			continue;
		unsigned i = 0;
		while (key[i] && p[i] == key[i])
			i++;
		if (key[i])
			continue;
		uint32_t rate = 0;
		for (p += i; *p >= '0' && *p <= '9'; p++)
			rate = rate * 10 + (uint32_t)(*p - '0');
		return rate;
	}
	return 0;
}

static uint32_t window_end(const struct multiboot_info *info)
{
	uint32_t end = WINDOW_END;
	if (info->flags & MULTIBOOT_INFO_MEMORY) {
		uint32_t top = MIB + info->mem_upper_kib * 1024u - RESERVED_AT_TOP;
		if (top < end)
			end = top;
	}
	return end & ~(PAGE_BYTES - 1);
}

static volatile struct page_stamp *stamp_of(uint32_t page)
{
	return (volatile struct page_stamp *)(uintptr_t)(WINDOW_START + page * PAGE_BYTES);
}

static void stamp(uint32_t page, uint32_t pass)
{
	volatile struct page_stamp *s = stamp_of(page);

	s->magic = STAMP_MAGIC;
	s->pass = pass;
	s->page = page;
}

/* The writer's position: pages below `page` were written in `pass`, the others in
 * pass - 1 (none yet in pass 0). Returns true when `checked` holds something else. */
static bool page_is_wrong(uint32_t checked, uint32_t page, uint32_t pass, uint32_t *expected)
{
	if (checked >= page && pass == 0)
		return false;
	*expected = checked < page ? pass : pass - 1;
	volatile struct page_stamp *s = stamp_of(checked);
	return s->magic != STAMP_MAGIC || s->pass != *expected || s->page != checked;
}

static void report(const char *key, uint64_t value)
{
	serial_puts(key);
	serial_put_u64(value);
}

void dirty_guest_main(uint32_t magic, const struct multiboot_info *info);

void dirty_guest_main(uint32_t magic, const struct multiboot_info *info)
{
	serial_init();
	if (magic != MULTIBOOT_LOADER_MAGIC) {
		serial_puts("dirty_guest: error: not started by a Multiboot loader\n");
		return;
	}
	uint32_t rate = 0;
	if (info->flags & MULTIBOOT_INFO_CMDLINE)
		rate = parse_rate((const char *)(uintptr_t)info->cmdline);
	uint32_t end = window_end(info);
	if (end <= WINDOW_START) {
		serial_puts("dirty_guest: error: less than 8 MiB of memory\n");
		return;
	}
	uint32_t pages = (end - WINDOW_START) / PAGE_BYTES;
	uint64_t tsc_hz = clock_calibrate_tsc_hz();

	report("dirty_guest: ready rate=", rate);
	report(" pages=", pages);
	report(" tsc_hz=", tsc_hz);
	serial_puts("\n");

	uint64_t ticks_per_page = rate ? clock_div_u64_u32(tsc_hz, rate) : 0;
	if (rate && ticks_per_page == 0)
		ticks_per_page = 1; /* a rate above the TSC's: as fast as the guest can */
	uint64_t max_backlog = clock_div_u64_u32(tsc_hz * MAX_BACKLOG_MS, MS_PER_SECOND);
	ticker_start(TICKS_PER_SECOND);
	uint64_t start = rdtsc();
	uint64_t next_write = start;
	uint64_t next_report = start + tsc_hz;
	uint64_t seconds = 0, written = 0, sweeps = 0, corrupt = 0;
	uint32_t page = 0, pass = 0, verify_cursor = 0;

	for (;;) {
		uint64_t now = rdtsc();
		if (rate) {
			if ((int64_t)(now - next_write) > (int64_t)max_backlog)
				next_write = now;
			while ((int64_t)(now - next_write) >= 0) {
				stamp(page, pass);
				written++;
				if (++page == pages) {
					page = 0;
					pass++;
				}
				next_write += ticks_per_page;
			}
		}
		for (uint32_t i = 0; i < VERIFY_PAGES_PER_TICK; i++) {
			uint32_t expected;
			if (page_is_wrong(verify_cursor, page, pass, &expected)) {
				corrupt++;
				stamp(verify_cursor, expected);
			}
			if (++verify_cursor == pages) {
				verify_cursor = 0;
				sweeps++;
			}
		}
		if ((int64_t)(now - next_report) >= 0) {
			seconds++;
			report("dirty_guest: seconds=", seconds);
			report(" written=", written);
			report(" pass=", pass);
			report(" sweeps=", sweeps);
			report(" corrupt=", corrupt);
			serial_puts("\n");
			next_report += tsc_hz;
			if ((int64_t)(now - next_report) > 0)
				next_report = now + tsc_hz;
		}
		ticker_wait();
	}
}
