/* Host tests of the renderer of guest bytes (kernel/lib/guest_text.c). */
#include "check.h"
#include "kernel/lib/guest_text.h"

#include <string.h>

struct text {
	char s[4096];
	size_t len;
	size_t max_piece;
};

static void collect(void *ctx, const char *s, size_t len)
{
	struct text *t = ctx;

	if (len > t->max_piece)
		t->max_piece = len;
	memcpy(t->s + t->len, s, len);
	t->len += len;
	t->s[t->len] = '\0';
}

/* Renders a whole input in one call and finishes the stream. */
static const char *render(enum guest_text_mode mode, const char *in, size_t len)
{
	static struct text out;
	struct guest_text g;

	memset(&out, 0, sizeof(out));
	guest_text_init(&g, mode);
	guest_text_render(&g, (const uint8_t *)in, len, collect, &out);
	guest_text_finish(&g, collect, &out);
	return out.s;
}

#define LINE(lit) render(GUEST_TEXT_LINE, lit, sizeof(lit) - 1)
#define TERM(lit) render(GUEST_TEXT_TERMINAL, lit, sizeof(lit) - 1)

TEST(printable_ascii_and_tab_pass)
{
	CHECK_STR(LINE("counter 12\tok ~!"), "counter 12\tok ~!");
	CHECK_STR(TERM("counter 12\tok"), "counter 12\tok");
}

TEST(escape_sequences_are_inert)
{
	/* Clear the screen, move the cursor home, forge a line in green. */
	CHECK_STR(LINE("\x1b[2J\x1b[H\x1b[32mmigrate: ok"), "^[[2J^[[H^[[32mmigrate: ok");
	/* OSC 52 (set the clipboard) and a report request a terminal would answer. */
	CHECK_STR(TERM("\x1b]52;c;aGk=\x07\x1b[6n"), "^[]52;c;aGk=^G^[[6n");
}

TEST(c0_controls_and_del_in_caret_notation)
{
	static const char in[] = { 0x00, 0x01, 0x07, 0x1b, 0x1f, 0x7f };
	CHECK_STR(render(GUEST_TEXT_LINE, in, sizeof(in)), "^@^A^G^[^_^?");
}

TEST(terminal_mode_passes_what_a_session_needs)
{
	CHECK_STR(TERM("a\r\nb\bc\td"), "a\r\nb\bc\td");
	CHECK_STR(LINE("a\r\nb\bc\td"), "a^M^Jb^Hc\td");
}

TEST(well_formed_utf8_passes)
{
	/* e-acute, the euro sign, an emoji: 2, 3 and 4 bytes. */
	CHECK_STR(LINE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(c1_controls_are_shown)
{
	/* A raw 0x9b (8-bit CSI) is not UTF-8; encoded as U+009B it is a C1 control. */
	CHECK_STR(LINE("\x9b" "2J"), "\\x9B2J");
	CHECK_STR(LINE("\xc2\x9b" "2J"), "<U+009B>2J");
	CHECK_STR(LINE("\xc2\x85"), "<U+0085>");
}

TEST(bidi_and_invisible_code_points_are_shown)
{
	/* RIGHT-TO-LEFT OVERRIDE would make "ok: failed" read backwards. */
	CHECK_STR(LINE("\xe2\x80\xae" "deliaf"), "<U+202E>deliaf");
	CHECK_STR(LINE("\xe2\x81\xa6x\xe2\x81\xa9"), "<U+2066>x<U+2069>");
	CHECK_STR(LINE("\xe2\x80\x8b\xef\xbb\xbf\xd8\x9c\xe2\x80\xa8"), "<U+200B><U+FEFF><U+061C><U+2028>");
	/* Neighbours of those ranges are ordinary text. */
	CHECK_STR(LINE("\xe2\x80\x90\xc2\xa0"), "\xe2\x80\x90\xc2\xa0");
}

TEST(ill_formed_utf8_is_shown_byte_by_byte)
{
	CHECK_STR(LINE("\x80"), "\\x80");                         /* stray continuation */
	CHECK_STR(LINE("\xc0\xaf"), "\\xC0\\xAF");                /* overlong '/' */
	CHECK_STR(LINE("\xe0\x80\xaf"), "\\xE0\\x80\\xAF");       /* overlong, 3 bytes */
	CHECK_STR(LINE("\xed\xa0\x80"), "\\xED\\xA0\\x80");       /* a surrogate */
	CHECK_STR(LINE("\xf4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80"); /* past U+10FFFF */
	CHECK_STR(LINE("\xf5\xff"), "\\xF5\\xFF");
	/* A sequence cut short: its bytes shown, the byte that cut it rendered on its own. */
	CHECK_STR(LINE("\xe2\x82" "A"), "\\xE2\\x82A");
	CHECK_STR(LINE("\xe2\x82\x1b"), "\\xE2\\x82^[");
	CHECK_STR(LINE("\xe2\x82"), "\\xE2\\x82");                /* unfinished at the end */
}

TEST(a_sequence_split_across_calls_is_kept)
{
	struct text out = { .len = 0 };
	struct guest_text g;
	const uint8_t euro[] = { 0xe2, 0x82, 0xac };

	guest_text_init(&g, GUEST_TEXT_TERMINAL);
	for (unsigned i = 0; i < sizeof(euro); i++) {
		guest_text_render(&g, &euro[i], 1, collect, &out);
		CHECK_EQ_U(out.len, i == 2 ? 3 : 0);
	}
	CHECK_STR(out.s, "\xe2\x82\xac");
}

TEST(expansion_is_bounded)
{
	/* Every byte value, alone and in every pair: never more than 4 output bytes per input byte. */
	for (unsigned a = 0; a < 256; a++) {
		char in[1] = { (char)a };
		const char *s = render(GUEST_TEXT_LINE, in, 1);
		CHECK(strlen(s) <= GUEST_TEXT_MAX_EXPANSION);
		for (unsigned b = 0; b < 256; b++) {
			char pair[2] = { (char)a, (char)b };
			s = render(GUEST_TEXT_TERMINAL, pair, 2);
			if (strlen(s) > 2 * GUEST_TEXT_MAX_EXPANSION)
				CHECK(0);
		}
	}
}

TEST(rendered_text_never_holds_a_control_byte)
{
	/* Pseudo-random guest bytes: the line form holds no byte below 0x20 but TAB, no DEL, no C1. */
	uint32_t x = 12345;
	uint8_t in[2048];
	static char out[2048 * GUEST_TEXT_MAX_EXPANSION + 1];

	for (unsigned round = 0; round < 50; round++) {
		for (unsigned i = 0; i < sizeof(in); i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (uint8_t)(x >> 16);
		}
		size_t n = guest_text_render_line(in, sizeof(in), out, sizeof(out));
		CHECK(n <= sizeof(in) * GUEST_TEXT_MAX_EXPANSION);
		for (size_t i = 0; i < n; i++) {
			uint8_t c = (uint8_t)out[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				CHECK(0);
			if (c == 0xc2 && i + 1 < n && (uint8_t)out[i + 1] <= 0x9f)
				CHECK(0);
		}
	}
}

TEST(render_line_cuts_between_characters)
{
	char out[8];

	/* "ab" then ESC ("^[", 2 bytes) then "\xff" (4 bytes): room for 7 characters. */
	CHECK_EQ_U(guest_text_render_line((const uint8_t *)"ab\x1b\xff", 4, out, sizeof(out)), 4);
	CHECK_STR(out, "ab^[");
	CHECK_EQ_U(guest_text_render_line((const uint8_t *)"abc", 3, out, 1), 0);
	CHECK_STR(out, "");
}

int main(void)
{
	return run_tests();
}
