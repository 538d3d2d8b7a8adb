/*
 * Ferry's console output: the text people and scripts read, formatted here and
 * sent with '\n' as CR LF. The console calls no driver: bring-up attaches a put
 * function that hands one byte to the device if it can take it now and never
 * waits (boot/efi_main.c: the COM1 UART). Output before that goes nowhere (the
 * kernel log's ring still keeps it). The input side is console_input.h.
 *
 * Output is queued in one ring (CONSOLE_RING_BYTES, in the order it was
 * written) and drained to the device by console_drain(), a background poller,
 * only as fast as the device takes bytes and for at most CONSOLE_DRAIN_BUDGET_US
 * a call. So nothing but the operator's own commands ever waits on the UART: a
 * real 115200-baud line (or a BMC's serial-over-LAN) takes about 87 us a byte,
 * and a guest's PRINT of 4096 newlines written synchronously inside its VM exit
 * froze the host for seconds.
 *
 * What happens to a write depends on who writes (the poller running, which
 * kernel/poll.c tells the console through console_set_context()):
 *  - the operator (the console poller running a command; bring-up; a panic):
 *    nothing is lost; a write that does not fit in the ring waits for the
 *    device, as a command's output always did.
 *  - background (every other poller: guests' exits, the network, migrations):
 *    never waits. Each write is charged to a source (struct console_source: the
 *    kernel log, each guest) with a rate limit in bytes; a source may have at
 *    most CONSOLE_SOURCE_BYTES queued (so that one flooding source leaves room
 *    for the others) and all of them CONSOLE_BACKGROUND_BYTES (so that the
 *    operator's answers wait behind little). A write over any of these is
 *    dropped whole and counted; the source's
 *    next write that passes is preceded by a notice line saying how much was
 *    dropped and where to read it (`dmesg`, `console NAME`). While the operator
 *    is typing a line, background output is held (CONSOLE_HELD_BYTES) and shown
 *    once the line is done, so that it does not cut through the echo.
 *
 * Bring-up writes synchronously (nothing drains the ring before the main loop)
 * until console_start_queue(); console_panic() returns to synchronous output for
 * good, after flushing what was queued, for crash reports.
 *
 * Portable (image and host: tests/unit/test_console_out.c drives it with a slow
 * UART model on a made-up clock).
 */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/rate_limit.h"

#define CONSOLE_RING_BYTES       16384
#define CONSOLE_BACKGROUND_BYTES 8192    /* the most background output queued, all sources */
#define CONSOLE_SOURCE_BYTES     2048    /* the most one source may have queued */
#define CONSOLE_PIECES           256     /* background pieces tracked (a source's consecutive ones are one) */
#define CONSOLE_HELD_BYTES       4096    /* background output held while a line is typed */
#define CONSOLE_DRAIN_BUDGET_US  200     /* the longest one console_drain() call writes */
#define CONSOLE_LINE_MAX         512     /* a background kprintf longer than this is cut */

/* Hands one byte to the device if it can take it now (true); false when it is busy. Never waits. */
typedef bool (*console_try_put_fn)(char c);

/* Attaches the device and starts afresh: nothing queued, synchronous output. */
void console_attach_output(console_try_put_fn try_put);

/* From now on output is queued and drained by console_drain() (bring-up calls it before the main loop). */
void console_start_queue(void);
/* The background poller: moves queued bytes to the device within CONSOLE_DRAIN_BUDGET_US. */
void console_drain(void);
/* Waits until everything queued (held output too) is on the line: before a power-off or reset. */
void console_flush(void);
/* For crash reports: flushes what was queued and writes synchronously from now on. */
void console_panic(void);
/* Bytes queued for the device (held output not counted): what the scheduler shortens slices for. */
size_t console_backlog(void);

enum console_context {
	CONSOLE_OPERATOR,     /* may wait; never loses output */
	CONSOLE_BACKGROUND,   /* never waits; rate-limited and dropped when over */
};
/* Sets who is writing now; returns who was (kernel/poll.c, around each poller). */
enum console_context console_set_context(enum console_context context);

/* The operator's text, or the kernel log's source in background context. */
void console_write(const char *s, size_t len);
void console_puts(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Bytes exactly as given, no CR added: for the line editor's echo, which sends its own CR LF. */
void console_write_raw(const char *s, size_t len);

/*
 * True while someone is typing a command line: output that can wait should (a
 * guest's console lines do). The shell, which feeds the line editor, says so through
 * console_set_input_pending() (console_input.h).
 */
bool console_input_pending(void);

/* ---- background sources -------------------------------------------------------------- */

struct console_source {
	const char *name;            /* in the drop notice: "log", "guest NAME" */
	const char *where;           /* where the dropped text can still be read: "dmesg" */
	struct rate_limit limit;     /* bytes */
	uint64_t dropped_lines, dropped_bytes;        /* since the source was set up */
	uint64_t unreported_lines, unreported_bytes;  /* since the last notice */
	size_t queued;                                /* its bytes not yet on the line */
};

/* name and where must outlive the source (the notice points at them). */
void console_source_init(struct console_source *src, const char *name, const char *where,
			 uint64_t bytes_per_s, uint64_t burst_bytes);
/* Before src's memory is reused: its queued output is sent, charged to nobody. */
void console_source_release(struct console_source *src);

/*
 * For a background writer about to prepare len bytes (lines lines) for src: when
 * src's share or the background's is already too full to take them, counts them
 * as dropped and returns true, so that a flood costs a comparison per line, not
 * its rendering (console_emit() checks the same first). False otherwise, and in
 * the operator's context.
 */
bool console_drop_if_full(struct console_source *src, size_t len, uint64_t lines);

/*
 * Writes text (with '\n' as CR LF) charged to src: whole or not at all. In the
 * operator's context the text always goes (uncharged, waiting if it must);
 * otherwise it goes only within src's rate limit and the background share of
 * the ring, and true says whether it did.
 */
bool console_emit(struct console_source *src, const char *text, size_t len);

/* The kernel log's source: klog lines and background kprintf. */
extern struct console_source console_log_source;
#define CONSOLE_LOG_BYTES_PER_S 2048
#define CONSOLE_LOG_BURST_BYTES 16384

/* What `info` shows of the console. */
struct console_stats {
	uint64_t written;       /* bytes handed to the device */
	uint64_t queued;        /* bytes in the ring now */
	uint64_t held;          /* background bytes held while a line is typed */
	uint64_t waits;         /* operator bytes that found the ring full and waited for the device */
	uint64_t dropped_lines, dropped_bytes;   /* the kernel log's, over its limits */
};
void console_get_stats(struct console_stats *out);

#endif
