/* Host tests of the console's line editor (kernel/shell/line_editor.c). */
#include "check.h"
#include "kernel/shell/line_editor.h"

struct screen {
	char text[8192];
	size_t len;
};

static void to_screen(void *ctx, const char *s, size_t len)
{
	struct screen *sc = ctx;

	for (size_t i = 0; i < len && sc->len + 1 < sizeof(sc->text); i++)
		sc->text[sc->len++] = s[i];
	sc->text[sc->len] = '\0';
}

/* Feeds a string; returns the last non-pending result. */
static enum line_result feed(struct line_editor *ed, const char *s, size_t len)
{
	enum line_result last = LINE_PENDING;

	for (size_t i = 0; i < len; i++) {
		enum line_result r = line_editor_feed(ed, (unsigned char)s[i]);
		if (r != LINE_PENDING)
			last = r;
	}
	return last;
}

#define FEED(ed, lit) feed(ed, lit, sizeof(lit) - 1)

TEST(plain_line_and_echo)
{
	struct line_editor ed;
	struct screen sc = { .len = 0 };

	line_editor_init(&ed, to_screen, &sc);
	CHECK_EQ_U(FEED(&ed, "info\r"), LINE_READY);
	CHECK_STR(ed.line, "info");
	CHECK_STR(sc.text, "info\r\n");
}

TEST(crlf_is_one_line_end)
{
	struct line_editor ed;
	int ready = 0;

	line_editor_init(&ed, NULL, NULL);
	const char *s = "a\r\nb\nc\r";
	for (const char *p = s; *p; p++)
		ready += line_editor_feed(&ed, (unsigned char)*p) == LINE_READY;
	CHECK_EQ_U(ready, 3);
	CHECK_STR(ed.line, "c");
}

TEST(backspace_and_kill)
{
	struct line_editor ed;

	line_editor_init(&ed, NULL, NULL);
	CHECK_EQ_U(FEED(&ed, "lisx\b\x7ft\r"), LINE_READY);
	CHECK_STR(ed.line, "lit");
	CHECK_EQ_U(FEED(&ed, "garbage\x15help\r"), LINE_READY);
	CHECK_STR(ed.line, "help");
	CHECK_EQ_U(FEED(&ed, "\b\b\bx\r"), LINE_READY);  /* backspace on an empty line is harmless */
	CHECK_STR(ed.line, "x");
	CHECK_EQ_U(FEED(&ed, "abc\x03"), LINE_CANCELLED);
	CHECK_EQ_U(FEED(&ed, "\r"), LINE_READY);
	CHECK_STR(ed.line, "");
}

TEST(history_up_down)
{
	struct line_editor ed;

	line_editor_init(&ed, NULL, NULL);
	FEED(&ed, "first\r");
	FEED(&ed, "second\r");
	CHECK_EQ_U(FEED(&ed, "\x1b[A\r"), LINE_READY);
	CHECK_STR(ed.line, "second");
	CHECK_EQ_U(FEED(&ed, "\x1b[A\x1b[A\r"), LINE_READY);
	CHECK_STR(ed.line, "first");
	CHECK_EQ_U(FEED(&ed, "\x1b[A\x1b[A\x1b[A\x1b[A\x1b[B\r"), LINE_READY);
	CHECK_STR(ed.line, "second");
	CHECK_EQ_U(FEED(&ed, "\x1b[A\x1b[B\r"), LINE_READY);
	CHECK_STR(ed.line, "");
}

TEST(long_line_discarded_whole)
{
	struct line_editor ed;
	char big[LINE_EDITOR_MAX * 4];

	line_editor_init(&ed, NULL, NULL);
	memset(big, 'a', sizeof(big));
	CHECK_EQ_U(feed(&ed, big, sizeof(big)), LINE_PENDING);
	CHECK_EQ_U(FEED(&ed, "\r"), LINE_TOO_LONG);
	CHECK_EQ_U(FEED(&ed, "ok\r"), LINE_READY);
	CHECK_STR(ed.line, "ok");

	/* Exactly the maximum still fits. */
	CHECK_EQ_U(feed(&ed, big, LINE_EDITOR_MAX), LINE_PENDING);
	CHECK_EQ_U(FEED(&ed, "\r"), LINE_READY);
	CHECK_EQ_U(strlen(ed.line), LINE_EDITOR_MAX);
}

TEST(binary_garbage_ignored)
{
	struct line_editor ed;
	struct screen sc = { .len = 0 };
	unsigned seed = 7;

	line_editor_init(&ed, to_screen, &sc);
	for (int i = 0; i < 100000; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned char b = (unsigned char)(seed >> 16);
		enum line_result r = line_editor_feed(&ed, b);
		if (r == LINE_READY) {
			CHECK(strlen(ed.line) <= LINE_EDITOR_MAX);
			for (const char *p = ed.line; *p; p++)
				CHECK(*p >= 0x20 && *p <= 0x7e);
		}
		sc.len = 0;
	}
	/* After any garbage, a Ctrl-U, a fresh line and CR give exactly that line. */
	FEED(&ed, "\x15");
	CHECK_EQ_U(FEED(&ed, "\x1b[Ahelp\x15version\r"), LINE_READY);
	CHECK_STR(ed.line, "version");
	/* NUL bytes in the middle of a line are dropped. */
	CHECK_EQ_U(feed(&ed, "he\0lp\r", 6), LINE_READY);
	CHECK_STR(ed.line, "help");
}

TEST(unterminated_escape_does_not_wedge)
{
	struct line_editor ed;

	line_editor_init(&ed, NULL, NULL);
	CHECK_EQ_U(FEED(&ed, "\x1b[12;3"), LINE_PENDING);
	CHECK_EQ_U(FEED(&ed, "\x01" "ok\r"), LINE_READY);
	CHECK_STR(ed.line, "ok");
}

TEST(busy_while_a_line_is_half_typed)
{
	struct line_editor ed;

	line_editor_init(&ed, NULL, NULL);
	CHECK(!line_editor_busy(&ed));
	FEED(&ed, "ver");
	CHECK(line_editor_busy(&ed));
	CHECK_EQ_U(FEED(&ed, "\r"), LINE_READY);
	CHECK(!line_editor_busy(&ed));       /* the line is handed over: the command runs */
	FEED(&ed, "\x1b");
	CHECK(line_editor_busy(&ed));        /* an escape sequence under way */
	FEED(&ed, "[A");
	CHECK(line_editor_busy(&ed));        /* Up brought "ver" back */
	CHECK_EQ_U(FEED(&ed, "\x03"), LINE_CANCELLED);
	CHECK(!line_editor_busy(&ed));
	FEED(&ed, "x\x7f");
	CHECK(!line_editor_busy(&ed));       /* typed and erased */
}

/* The shell splits a line in place (NULs between words); Enter alone must then give "", not the first word. */
TEST(empty_line_after_a_split_command_is_empty)
{
	struct line_editor ed;

	line_editor_init(&ed, NULL, NULL);
	CHECK_EQ_U(FEED(&ed, "crash null\r"), LINE_READY);
	ed.line[5] = '\0';                  /* what cmdline_split leaves behind */
	CHECK_EQ_U(FEED(&ed, "\r"), LINE_READY);
	CHECK_STR(ed.line, "");
	CHECK_EQ_U(FEED(&ed, "x\x7f\r"), LINE_READY);   /* typed and erased, then Enter */
	CHECK_STR(ed.line, "");
}

int main(void)
{
	return run_tests();
}
