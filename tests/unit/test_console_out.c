/*
 * Host tests of console output (kernel/console.c) against a slow UART model on a
 * made-up clock: 115200 baud (87 us a byte) with a 16-byte transmit FIFO, where
 * every look at the device costs a microsecond. Background writers (a guest's
 * exits, the network) never touch the device and never wait; the drain poller
 * stays within its time budget; the operator's output is never lost; sources
 * over their rate limit are dropped, counted and reported.
 */
#include "check.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/console_input.h"

#include <stdlib.h>
#include <string.h>

#define US_PER_BYTE_115200 87
#define FIFO_BYTES 16

static uint64_t now_us;
static uint64_t fake_read(void) { return now_us; }
static const struct clock_counter fake_clock = { fake_read, 1000000, NULL };

/* The device: what reached the line, and how often it was looked at. */
static char line_out[1 << 20];
static size_t line_len;
static uint64_t device_calls;
static bool slow;                /* false: takes every byte at once */
static uint64_t fifo_free_at[FIFO_BYTES];   /* when each FIFO slot empties */

static bool uart_model(char c)
{
	device_calls++;
	now_us++;                            /* an I/O port access is not free */
	if (slow) {
		/* The slot that empties first; the line sends one byte per 87 us. */
		unsigned oldest = 0;
		for (unsigned i = 1; i < FIFO_BYTES; i++)
			if (fifo_free_at[i] < fifo_free_at[oldest])
				oldest = i;
		if (fifo_free_at[oldest] > now_us)
			return false;
		uint64_t last = 0;
		for (unsigned i = 0; i < FIFO_BYTES; i++)
			if (fifo_free_at[i] > last)
				last = fifo_free_at[i];
		fifo_free_at[oldest] = (last > now_us ? last : now_us) + US_PER_BYTE_115200;
	}
	if (line_len < sizeof(line_out))
		line_out[line_len++] = c;
	return true;
}

static void reset(bool slow_device)
{
	now_us = 0;
	clock_init(&fake_clock);
	line_len = 0;
	device_calls = 0;
	slow = slow_device;
	memset(fifo_free_at, 0, sizeof(fifo_free_at));
	console_set_input_pending(false);
	console_attach_output(uart_model);
	console_start_queue();
}

/* Drains the way the main loop does: one call, then a millisecond of other pollers and guests. */
static void run_main_loop_ms(unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		console_drain();
		now_us += 1000;
	}
}

static size_t count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, k = strlen(needle);

	for (size_t i = 0; i + k <= len; i++)
		if (memcmp(hay + i, needle, k) == 0)
			n++;
	return n;
}

TEST(background_writers_never_touch_the_device)
{
	struct console_source guest;

	reset(true);
	console_source_init(&guest, "guest flood", "`console flood`", 4096, 32768);
	console_set_context(CONSOLE_BACKGROUND);
	/* A PRINT of 4096 newlines, and then some: each line costs no device access at all. */
	for (unsigned i = 0; i < 100000; i++)
		console_emit(&guest, "[flood] \n", 9);
	kprintf("a log line from the background\n");
	console_write("more\n", 5);
	CHECK_EQ_U(device_calls, 0);
	CHECK_EQ_U(now_us, 0);                       /* nothing waited */
	CHECK(console_backlog() <= CONSOLE_BACKGROUND_BYTES);
	CHECK(guest.dropped_lines > 90000);
	console_set_context(CONSOLE_OPERATOR);
}

TEST(drain_keeps_to_its_budget)
{
	reset(false);
	static char big[CONSOLE_RING_BYTES];
	memset(big, 'x', sizeof(big));
	console_write(big, sizeof(big));             /* the operator fills the ring */
	CHECK_EQ_U(device_calls, 0);
	uint64_t start = now_us;
	console_drain();
	CHECK(now_us - start <= CONSOLE_DRAIN_BUDGET_US + 1);
	CHECK(line_len > 0 && line_len <= CONSOLE_DRAIN_BUDGET_US + 1);
}

TEST(slow_uart_drains_at_its_rate_in_order)
{
	char text[64];

	reset(true);
	console_set_context(CONSOLE_BACKGROUND);
	for (unsigned i = 0; i < 100; i++) {
		int n = snprintf(text, sizeof(text), "line %03u\n", i);
		console_emit(&console_log_source, text, (size_t)n);
	}
	console_set_context(CONSOLE_OPERATOR);
	size_t queued = console_backlog();
	CHECK_EQ_U(queued, 100 * 10);                /* "line NNN" CR LF */
	/* In 10 ms the line takes at most 10000/87 + a FIFO's worth: no more came out. */
	run_main_loop_ms(10);
	CHECK(line_len <= 10000 / US_PER_BYTE_115200 + FIFO_BYTES + 1);
	CHECK(line_len >= 10000 / US_PER_BYTE_115200 - FIFO_BYTES);
	run_main_loop_ms(200);
	CHECK_EQ_U(line_len, queued);
	CHECK(memcmp(line_out, "line 000\r\nline 001\r\n", 20) == 0);
	CHECK(memcmp(line_out + queued - 10, "line 099\r\n", 10) == 0);
}

TEST(operator_output_is_never_lost)
{
	struct console_source guest;
	static char big[40000];

	reset(true);
	console_source_init(&guest, "guest g", "`console g`", 1000000, 1000000);
	console_set_context(CONSOLE_BACKGROUND);
	while (console_emit(&guest, "[g] flooding\n", 13))
		;
	CHECK(console_backlog() <= CONSOLE_SOURCE_BYTES);
	console_set_context(CONSOLE_OPERATOR);
	size_t before = console_backlog();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	console_write_raw(big, sizeof(big));         /* more than the ring: the operator waits */
	struct console_stats st;
	console_get_stats(&st);
	CHECK(st.waits > 0);
	console_flush();
	CHECK_EQ_U(line_len, before + sizeof(big));
	CHECK(memcmp(line_out + before, big, sizeof(big)) == 0);
}

TEST(a_flooding_source_leaves_room_for_the_others)
{
	struct console_source flood, quiet;
	char line[32];

	reset(true);
	console_source_init(&flood, "guest f", "`console f`", 1000000, 1000000);
	console_source_init(&quiet, "guest c", "`console c`", 4096, 16384);
	unsigned quiet_sent = 0;
	for (unsigned ms = 0; ms < 2000; ms++) {
		console_set_context(CONSOLE_BACKGROUND);
		while (console_emit(&flood, "[f] \n", 5))
			;
		if (ms % 100 == 0) {   /* ten lines a second, among the flood */
			int n = snprintf(line, sizeof(line), "[c] counter %u\n", ms / 100 + 1);
			quiet_sent += console_emit(&quiet, line, (size_t)n);
		}
		console_set_context(CONSOLE_OPERATOR);
		CHECK(flood.queued <= CONSOLE_SOURCE_BYTES);
		run_main_loop_ms(1);
	}
	CHECK_EQ_U(quiet_sent, 20);
	CHECK_EQ_U(quiet.dropped_lines, 0);
	CHECK(flood.dropped_lines > 0);
	console_flush();
	CHECK_EQ_U(count(line_out, line_len, "[c] counter "), 20);
	CHECK_EQ_U(count(line_out, line_len, "[c] counter 20\r\n"), 1);
	/* A source set free is charged nothing more, and the next one in its place starts empty. */
	console_set_context(CONSOLE_BACKGROUND);
	while (console_emit(&flood, "[f] \n", 5))
		;
	console_source_release(&flood);
	CHECK_EQ_U(flood.queued, 0);
	console_set_context(CONSOLE_OPERATOR);
	console_flush();
	CHECK_EQ_U(flood.queued, 0);
	CHECK_EQ_U(console_backlog(), 0);
}

TEST(rate_limit_drops_counts_and_reports)
{
	struct console_source guest;
	char text[100];
	uint64_t sent = 0;

	reset(false);
	memset(text, 'z', sizeof(text));
	text[sizeof(text) - 1] = '\n';
	console_source_init(&guest, "guest g", "`console g`", 1000, 2000);
	/* 100-byte lines every 10 ms for 10 s: 10 kB/s against 1 kB/s. */
	for (unsigned i = 0; i < 1000; i++) {
		console_set_context(CONSOLE_BACKGROUND);
		sent += console_emit(&guest, text, sizeof(text));
		console_set_context(CONSOLE_OPERATOR);
		run_main_loop_ms(10);
	}
	/* Burst plus rate: 2000 + 10 s x 1000 bytes, lines and their CR and the notices included. */
	CHECK(sent * (sizeof(text) + 1) <= 2000 + 10 * 1000 + 1000);
	CHECK(sent >= 50);
	CHECK_EQ_U(guest.dropped_lines, 1000 - sent);
	CHECK_EQ_U(guest.dropped_bytes, (1000 - sent) * sizeof(text));
	CHECK(count(line_out, line_len, "console: guest g: ") > 0);
	CHECK(count(line_out, line_len, "lines (") > 0);
	CHECK(count(line_out, line_len, "bytes) dropped; `console g` has them\r\n") > 0);
}

TEST(a_full_share_drops_before_anything_is_prepared)
{
	struct console_source guest;

	reset(true);
	console_source_init(&guest, "guest g", "`console g`", 1000000, 1000000);
	console_set_context(CONSOLE_BACKGROUND);
	while (console_emit(&guest, "[g] flooding\n", 13))
		;
	uint64_t dropped = guest.dropped_lines;
	/* Its share is full: the next lines are counted without being rendered or formatted. */
	CHECK(console_drop_if_full(&guest, 40, 1));
	CHECK_EQ_U(guest.dropped_lines, dropped + 1);
	CHECK_EQ_U(guest.unreported_lines, dropped + 1);
	/* The operator's context never drops, and a source with room is not refused. */
	struct console_source quiet;
	console_source_init(&quiet, "guest q", "`console q`", 1000, 1000);
	CHECK(!console_drop_if_full(&quiet, 40, 1));
	console_set_context(CONSOLE_OPERATOR);
	CHECK(!console_drop_if_full(&guest, 40, 1));
	console_flush();
	/* Drained, the source's next line passes after a notice that counts every drop. */
	console_set_context(CONSOLE_BACKGROUND);
	CHECK(console_emit(&guest, "[g] again\n", 10));
	console_set_context(CONSOLE_OPERATOR);
	console_flush();
	CHECK_EQ_U(count(line_out, line_len, "bytes) dropped; `console g` has them\r\n[g] again\r\n"), 1);
}

TEST(background_is_held_while_a_line_is_typed)
{
	struct console_source guest;

	reset(false);
	console_source_init(&guest, "guest g", "`console g`", 100000, 100000);
	console_write_raw("ferry> ", 7);
	run_main_loop_ms(1);
	console_set_input_pending(true);
	console_write_raw("ver", 3);                 /* the echo goes out at once... */
	console_set_context(CONSOLE_BACKGROUND);
	CHECK(console_emit(&guest, "[g] counter 1\n", 14));
	console_set_context(CONSOLE_OPERATOR);
	run_main_loop_ms(5);
	CHECK_EQ_U(line_len, 10);                    /* ...the guest's line does not */
	console_set_input_pending(false);
	console_write("\nferry version=x\n", 17);
	run_main_loop_ms(5);
	line_out[line_len] = '\0';
	CHECK_STR(line_out, "ferry> ver\r\nferry version=x\r\n[g] counter 1\r\n");
}

TEST(program_order_is_kept)
{
	reset(false);
	kprintf("one\n");
	console_set_context(CONSOLE_BACKGROUND);
	kprintf("two\n");
	console_set_context(CONSOLE_OPERATOR);
	kprintf("three\n");
	console_flush();
	line_out[line_len] = '\0';
	CHECK_STR(line_out, "one\r\ntwo\r\nthree\r\n");
}

TEST(panic_flushes_then_writes_synchronously)
{
	reset(true);
	console_write("queued\n", 7);
	CHECK_EQ_U(line_len, 0);
	console_panic();
	CHECK_EQ_U(line_len, 8);
	console_set_context(CONSOLE_BACKGROUND);      /* a crash report from anywhere goes out whole */
	kprintf("FERRY PANIC\n");
	CHECK_EQ_U(line_len, 8 + 13);
	console_set_context(CONSOLE_OPERATOR);
}

TEST(synchronous_until_the_queue_starts)
{
	now_us = 0;
	clock_init(&fake_clock);
	line_len = 0;
	slow = false;
	console_attach_output(uart_model);
	kprintf("boot line\n");
	CHECK_EQ_U(line_len, 11);
	console_start_queue();
	kprintf("queued\n");
	CHECK_EQ_U(line_len, 11);
	CHECK_EQ_U(console_backlog(), 8);
}

int main(void)
{
	return run_tests();
}
