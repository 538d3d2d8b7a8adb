/* Console output: the queue, its drain, background sources; see console.h. */
#include "kernel/console.h"
#include "kernel/clock.h"
#include "kernel/lib/format.h"

#include <string.h>

#define NOTICE_MAX 160

static console_try_put_fn try_put;
static bool queued_mode;      /* false: every write goes to the device at once */
static enum console_context context = CONSOLE_OPERATOR;

/* The ring: bytes [tail, head) in absolute positions, ring[pos % CONSOLE_RING_BYTES]. */
static char ring[CONSOLE_RING_BYTES];
static uint64_t head, tail;
static char held[CONSOLE_HELD_BYTES];
static size_t held_len;
static uint64_t written_total, operator_waits;

/*
 * Who owns the background bytes not yet on the line, piece by piece in order
 * (consecutive pieces of one source are one record): in the ring up to `end`,
 * or held (end unknown until released). What the per-source and background
 * shares are counted in.
 */
struct piece {
	struct console_source *src;   /* NULL once the source was released */
	uint64_t end;                 /* ring position just past the piece */
	size_t bytes;
};
static struct piece ring_pieces[CONSOLE_PIECES], held_pieces[CONSOLE_PIECES];
static unsigned ring_first, ring_count, held_count;
static size_t background_queued;   /* background bytes in the ring and held */

struct console_source console_log_source;

static size_t ring_used(void)
{
	return (size_t)(head - tail);
}

/* ---- the device ------------------------------------------------------------------------ */

/* Background pieces the device has taken are no longer charged to their source. */
static void retire_pieces(void)
{
	while (ring_count && ring_pieces[ring_first].end <= tail) {
		struct piece *p = &ring_pieces[ring_first];
		if (p->src)
			p->src->queued -= p->bytes;
		background_queued -= p->bytes;
		ring_first = (ring_first + 1) % CONSOLE_PIECES;
		ring_count--;
	}
}

/* Moves one queued byte to the device if it takes it now. */
static bool drain_one(void)
{
	if (tail == head || !try_put || !try_put(ring[tail % CONSOLE_RING_BYTES]))
		return false;
	tail++;
	written_total++;
	return true;
}

/* Until the ring holds at most `keep` bytes: the operator's wait, a flush, a panic. */
static void drain_until(size_t keep)
{
	if (!try_put)
		tail = head;   /* nowhere to go: nobody can be waiting to read it */
	while (ring_used() > keep)
		drain_one();
	retire_pieces();
}

static void put_byte(char c)
{
	if (!queued_mode) {
		if (try_put)
			while (!try_put(c))
				;
		written_total += try_put != NULL;
		return;
	}
	if (ring_used() == CONSOLE_RING_BYTES) {
		operator_waits++;   /* a byte that found the ring full: the writer waits for the line */
		drain_until(CONSOLE_RING_BYTES - 1);
	}
	ring[head % CONSOLE_RING_BYTES] = c;
	head++;
}

/* The operator's bytes (or any in synchronous mode): every one goes, waiting if it must. */
static void operator_write(const char *s, size_t len, bool add_cr)
{
	for (size_t i = 0; i < len; i++) {
		if (add_cr && s[i] == '\n')
			put_byte('\r');
		put_byte(s[i]);
	}
}

/* ---- modes ----------------------------------------------------------------------------- */

void console_attach_output(console_try_put_fn put)
{
	try_put = put;
	queued_mode = false;
	context = CONSOLE_OPERATOR;
	head = tail = 0;
	held_len = 0;
	written_total = operator_waits = 0;
	ring_first = ring_count = held_count = 0;
	background_queued = 0;
	console_source_init(&console_log_source, "log", "dmesg", CONSOLE_LOG_BYTES_PER_S,
			    CONSOLE_LOG_BURST_BYTES);
}

void console_start_queue(void)
{
	queued_mode = true;
}

enum console_context console_set_context(enum console_context c)
{
	enum console_context was = context;

	context = c;
	return was;
}

static bool may_wait(void)
{
	return !queued_mode || context == CONSOLE_OPERATOR;
}

/* Records a background piece of src: ring positions up to `end`, or held. False when no record is free. */
static bool add_piece(struct piece *pieces, unsigned first, unsigned *count, struct console_source *src,
		      uint64_t end, size_t bytes)
{
	if (*count) {
		struct piece *last = &pieces[(first + *count - 1) % CONSOLE_PIECES];
		if (last->src == src) {
			last->end = end;
			last->bytes += bytes;
			return true;
		}
	}
	if (*count == CONSOLE_PIECES)
		return false;
	pieces[(first + *count) % CONSOLE_PIECES] = (struct piece){ src, end, bytes };
	(*count)++;
	return true;
}

/* Held background output joins the ring once nobody is typing (whole, or not yet). */
static void release_held(void)
{
	if (!held_len || console_input_pending() || CONSOLE_RING_BYTES - ring_used() < held_len ||
	    CONSOLE_PIECES - ring_count < held_count)
		return;
	for (size_t i = 0; i < held_len; i++)
		ring[(head + i) % CONSOLE_RING_BYTES] = held[i];
	for (unsigned i = 0; i < held_count; i++) {
		head += held_pieces[i].bytes;
		add_piece(ring_pieces, ring_first, &ring_count, held_pieces[i].src, head, held_pieces[i].bytes);
	}
	held_len = 0;
	held_count = 0;
}

void console_drain(void)
{
	uint64_t start = clock_us();

	release_held();
	while (tail != head && clock_us() - start < CONSOLE_DRAIN_BUDGET_US)
		if (!drain_one())
			break;
	retire_pieces();
}

size_t console_backlog(void)
{
	return ring_used();
}

void console_flush(void)
{
	if (held_len) {
		/* Whoever flushes is about to stop the machine: held lines go now, typed line or not. */
		size_t n = held_len;
		held_len = 0;
		for (unsigned i = 0; i < held_count; i++) {
			if (held_pieces[i].src)
				held_pieces[i].src->queued -= held_pieces[i].bytes;
			background_queued -= held_pieces[i].bytes;
		}
		held_count = 0;
		operator_write(held, n, false);
	}
	drain_until(0);
}

void console_panic(void)
{
	console_flush();
	queued_mode = false;
	context = CONSOLE_OPERATOR;
}

void console_get_stats(struct console_stats *out)
{
	*out = (struct console_stats){
		.written = written_total,
		.queued = ring_used(),
		.held = held_len,
		.waits = operator_waits,
		.dropped_lines = console_log_source.dropped_lines,
		.dropped_bytes = console_log_source.dropped_bytes,
	};
}

/* ---- background sources ----------------------------------------------------------------- */

void console_source_init(struct console_source *src, const char *name, const char *where,
			 uint64_t bytes_per_s, uint64_t burst_bytes)
{
	memset(src, 0, sizeof(*src));
	src->name = name;
	src->where = where;
	rate_limit_init(&src->limit, bytes_per_s, burst_bytes, clock_us());
}

/* Device bytes text takes ('\n' becomes CR LF), and its lines. */
static size_t device_bytes(const char *text, size_t len, uint64_t *lines)
{
	size_t n = len;

	*lines = 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n') {
			n++;
			(*lines)++;
		}
	return n;
}

/* Appends device bytes to the held buffer or the ring; the caller checked the room and the record. */
static void background_append(struct console_source *src, const char *text, size_t len, size_t bytes)
{
	bool hold = held_len || console_input_pending();

	src->queued += bytes;
	background_queued += bytes;
	if (hold)
		add_piece(held_pieces, 0, &held_count, src, 0, bytes);
	else
		add_piece(ring_pieces, ring_first, &ring_count, src, head + bytes, bytes);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			if (hold)
				held[held_len++] = '\r';
			else
				ring[head++ % CONSOLE_RING_BYTES] = '\r';
		}
		if (hold)
			held[held_len++] = text[i];
		else
			ring[head++ % CONSOLE_RING_BYTES] = text[i];
	}
}

/* Room for bytes of src: its own share, the background's, the buffer, and a record for the piece. */
static bool background_room(const struct console_source *src, size_t bytes)
{
	bool hold = held_len || console_input_pending();
	const struct piece *last;

	if (src->queued + bytes > CONSOLE_SOURCE_BYTES || background_queued + bytes > CONSOLE_BACKGROUND_BYTES)
		return false;
	if (hold) {
		last = held_count ? &held_pieces[held_count - 1] : NULL;
		return bytes <= CONSOLE_HELD_BYTES - held_len &&
		       (held_count < CONSOLE_PIECES || last->src == src);
	}
	last = ring_count ? &ring_pieces[(ring_first + ring_count - 1) % CONSOLE_PIECES] : NULL;
	return bytes <= CONSOLE_RING_BYTES - ring_used() &&
	       (ring_count < CONSOLE_PIECES || last->src == src);
}

void console_source_release(struct console_source *src)
{
	for (unsigned i = 0; i < ring_count; i++)
		if (ring_pieces[(ring_first + i) % CONSOLE_PIECES].src == src)
			ring_pieces[(ring_first + i) % CONSOLE_PIECES].src = NULL;
	for (unsigned i = 0; i < held_count; i++)
		if (held_pieces[i].src == src)
			held_pieces[i].src = NULL;
	src->queued = 0;
}

static size_t format_notice(const struct console_source *src, char *buf, size_t cap)
{
	if (!src->unreported_bytes)
		return 0;
	size_t n = fmt_snprintf(buf, cap, "console: %s: %llu lines (%llu bytes) dropped; %s has them\n",
				src->name, (unsigned long long)src->unreported_lines,
				(unsigned long long)src->unreported_bytes, src->where);
	return n < cap ? n : cap - 1;
}

static void count_dropped(struct console_source *src, uint64_t lines, uint64_t bytes)
{
	src->dropped_lines += lines;
	src->dropped_bytes += bytes;
	src->unreported_lines += lines;
	src->unreported_bytes += bytes;
}

bool console_drop_if_full(struct console_source *src, size_t len, uint64_t lines)
{
	/* len alone over a share: the device bytes (CR LF, a notice) can only be more. */
	if (may_wait() || (src->queued + len <= CONSOLE_SOURCE_BYTES &&
			   background_queued + len <= CONSOLE_BACKGROUND_BYTES))
		return false;
	count_dropped(src, lines, len);
	return true;
}

bool console_emit(struct console_source *src, const char *text, size_t len)
{
	uint64_t lines;
	size_t text_bytes = device_bytes(text, len, &lines);

	if (console_drop_if_full(src, len, lines))
		return false;

	char notice[NOTICE_MAX];
	size_t notice_len = format_notice(src, notice, sizeof(notice));
	uint64_t notice_lines;
	size_t bytes = text_bytes + device_bytes(notice, notice_len, &notice_lines);

	if (may_wait()) {
		operator_write(notice, notice_len, true);
		operator_write(text, len, true);
	} else if (background_room(src, bytes) && rate_limit_take(&src->limit, clock_us(), bytes)) {
		size_t notice_bytes = bytes - text_bytes;
		background_append(src, notice, notice_len, notice_bytes);
		background_append(src, text, len, bytes - notice_bytes);
	} else {
		count_dropped(src, lines, len);
		return false;
	}
	src->unreported_lines = 0;
	src->unreported_bytes = 0;
	return true;
}

/* ---- the operator's text ------------------------------------------------------------------ */

void console_write(const char *s, size_t len)
{
	if (may_wait())
		operator_write(s, len, true);
	else
		console_emit(&console_log_source, s, len);
}

void console_write_raw(const char *s, size_t len)
{
	if (may_wait())
		operator_write(s, len, false);
	else
		console_emit(&console_log_source, s, len);   /* nobody echoes from the background */
}

void console_puts(const char *s)
{
	console_write(s, strlen(s));
}

static void operator_sink(void *ctx, char c)
{
	(void)ctx;
	if (c == '\n')
		put_byte('\r');
	put_byte(c);
}

void kvprintf(const char *fmt, va_list ap)
{
	if (may_wait()) {
		fmt_vformat(operator_sink, NULL, fmt, ap);
		return;
	}
	char line[CONSOLE_LINE_MAX];
	size_t n = fmt_vsnprintf(line, sizeof(line), fmt, ap);
	console_emit(&console_log_source, line, n < sizeof(line) ? n : sizeof(line) - 1);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
