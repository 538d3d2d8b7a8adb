/* The console's line editor; see line_editor.h for the contract. */
#include "kernel/shell/line_editor.h"

#include <string.h>

enum {
	KEY_CTRL_C = 0x03,
	KEY_BACKSPACE = 0x08,
	KEY_LF = 0x0a,
	KEY_CR = 0x0d,
	KEY_CTRL_U = 0x15,
	KEY_ESC = 0x1b,
	KEY_DEL = 0x7f,
};

void line_editor_init(struct line_editor *ed, line_echo_fn echo, void *ctx)
{
	memset(ed, 0, sizeof(*ed));
	ed->echo = echo;
	ed->echo_ctx = ctx;
}

static void echo(struct line_editor *ed, const char *s, size_t len)
{
	if (ed->echo)
		ed->echo(ed->echo_ctx, s, len);
}

static void erase_chars(struct line_editor *ed, size_t n)
{
	while (n--)
		echo(ed, "\b \b", 3);
}

static void reset_line(struct line_editor *ed)
{
	ed->len = 0;
	ed->line[0] = '\0';
	ed->overflow = false;
	ed->history_back = 0;
}

static void replace_line(struct line_editor *ed, const char *text)
{
	erase_chars(ed, ed->len);
	ed->len = strlen(text);
	memcpy(ed->line, text, ed->len + 1);
	echo(ed, ed->line, ed->len);
}

static const char *history_entry(const struct line_editor *ed, unsigned back)
{
	unsigned slot = (ed->history_next + LINE_EDITOR_HISTORY - back) % LINE_EDITOR_HISTORY;

	return ed->history[slot];
}

static void history_walk(struct line_editor *ed, int direction)
{
	if (ed->overflow)
		return;
	if (direction > 0 && ed->history_back < ed->history_count) {
		ed->history_back++;
		replace_line(ed, history_entry(ed, ed->history_back));
	} else if (direction < 0 && ed->history_back > 0) {
		ed->history_back--;
		replace_line(ed, ed->history_back ? history_entry(ed, ed->history_back) : "");
	}
}

static void history_add(struct line_editor *ed)
{
	if (ed->len == 0)
		return;
	if (ed->history_count && strcmp(history_entry(ed, 1), ed->line) == 0)
		return;
	memcpy(ed->history[ed->history_next], ed->line, ed->len + 1);
	ed->history_next = (ed->history_next + 1) % LINE_EDITOR_HISTORY;
	if (ed->history_count < LINE_EDITOR_HISTORY)
		ed->history_count++;
}

static enum line_result end_line(struct line_editor *ed)
{
	/*
	 * The caller may have split the previous line in place (shell_execute), and
	 * after an empty line nothing was typed over it: terminate what is handed out
	 * at the typed length, or Enter alone would hand out the old command's first word.
	 */
	ed->line[ed->len] = '\0';
	echo(ed, "\r\n", 2);
	if (ed->overflow) {
		reset_line(ed);
		return LINE_TOO_LONG;
	}
	history_add(ed);
	ed->history_back = 0;
	/* The caller reads ed->line now; the next byte starts a fresh line. */
	ed->len = 0;
	return LINE_READY;
}

enum line_result line_editor_feed(struct line_editor *ed, unsigned char byte)
{
	bool was_cr = ed->last_was_cr;

	ed->last_was_cr = byte == KEY_CR;
	if (ed->escape == 1) {
		ed->escape = byte == '[' ? 2 : 0;
		return LINE_PENDING;
	}
	if (ed->escape == 2) {
		/* CSI: parameter bytes continue it, a final byte in 0x40-0x7e ends it. */
		if (byte >= 0x40 && byte <= 0x7e) {
			ed->escape = 0;
			if (byte == 'A')
				history_walk(ed, +1);
			else if (byte == 'B')
				history_walk(ed, -1);
		} else if (byte < 0x20 || byte > 0x3f) {
			ed->escape = 0;
		}
		return LINE_PENDING;
	}

	switch (byte) {
	case KEY_CR:
		return end_line(ed);
	case KEY_LF:
		if (was_cr)
			return LINE_PENDING;
		return end_line(ed);
	case KEY_BACKSPACE:
	case KEY_DEL:
		if (!ed->overflow && ed->len) {
			ed->len--;
			ed->line[ed->len] = '\0';
			erase_chars(ed, 1);
		}
		return LINE_PENDING;
	case KEY_CTRL_U:
		if (!ed->overflow)
			erase_chars(ed, ed->len);
		reset_line(ed);
		return LINE_PENDING;
	case KEY_CTRL_C:
		echo(ed, "^C\r\n", 4);
		reset_line(ed);
		return LINE_CANCELLED;
	case KEY_ESC:
		ed->escape = 1;
		return LINE_PENDING;
	default:
		break;
	}
	if (byte < 0x20 || byte > 0x7e || ed->overflow)
		return LINE_PENDING;
	if (ed->len == LINE_EDITOR_MAX) {
		ed->overflow = true;
		return LINE_PENDING;
	}
	ed->line[ed->len++] = (char)byte;
	ed->line[ed->len] = '\0';
	echo(ed, (const char *)&byte, 1);
	return LINE_PENDING;
}

bool line_editor_busy(const struct line_editor *ed)
{
	return ed->len > 0 || ed->escape;
}
