/*
 * The console's line editor, portable (image and host).
 *
 * Bytes from the serial line go in one at a time; a complete line comes out.
 * Printable ASCII is appended and echoed; Backspace/DEL erase one character;
 * Ctrl-U erases the line; Ctrl-C abandons it; Up/Down (ESC [ A / ESC [ B)
 * walk the history; CR, LF or CR LF end the line. Every other byte (NUL,
 * controls, bytes above 0x7e, unknown escape sequences) is ignored, so binary
 * garbage can neither crash nor wedge the console. A line longer than
 * LINE_EDITOR_MAX is not truncated into a different command: it is discarded
 * whole and reported as LINE_TOO_LONG when it ends.
 */
#ifndef FERRY_LINE_EDITOR_H
#define FERRY_LINE_EDITOR_H

#include <stdbool.h>
#include <stddef.h>

#define LINE_EDITOR_MAX 255
#define LINE_EDITOR_HISTORY 16

typedef void (*line_echo_fn)(void *ctx, const char *s, size_t len);

enum line_result {
	LINE_PENDING,    /* nothing to do yet */
	LINE_READY,      /* editor->line holds a complete line */
	LINE_TOO_LONG,   /* a line over the limit ended; it was discarded */
	LINE_CANCELLED,  /* Ctrl-C: the line was abandoned */
};

struct line_editor {
	char line[LINE_EDITOR_MAX + 1];
	size_t len;
	bool overflow;
	bool last_was_cr;
	int escape;                 /* 0: none, 1: got ESC, 2: got ESC [ */
	char history[LINE_EDITOR_HISTORY][LINE_EDITOR_MAX + 1];
	unsigned history_count;     /* lines stored, at most LINE_EDITOR_HISTORY */
	unsigned history_next;      /* slot the next line goes to */
	unsigned history_back;      /* how far Up has walked back; 0: editing a new line */
	line_echo_fn echo;
	void *echo_ctx;
};

void line_editor_init(struct line_editor *ed, line_echo_fn echo, void *ctx);

/* Feeds one byte. After LINE_READY the line stays valid until the next call. */
enum line_result line_editor_feed(struct line_editor *ed, unsigned char byte);

/* True while a line is half typed (characters, or an escape sequence, not yet ended). */
bool line_editor_busy(const struct line_editor *ed);

#endif
