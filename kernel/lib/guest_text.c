/*
 * Guest bytes made safe for the operator's terminal; see guest_text.h. UTF-8
 * well-formedness follows the Unicode Standard, chapter 3, table 3-7.
 */
#include "kernel/lib/guest_text.h"

#include <stdbool.h>
#include <string.h>

#define ASCII_PRINTABLE_FIRST 0x20
#define ASCII_DEL             0x7f
#define CARET_OFFSET          0x40   /* ^@ is 0x00 + 0x40 */
#define BYTE_TAB              0x09
#define BYTE_LF               0x0a
#define BYTE_CR               0x0d
#define BYTE_BS               0x08

#define UTF8_CONT_MIN  0x80
#define UTF8_CONT_MAX  0xbf
#define UTF8_LEAD2_MIN 0xc2   /* 0xc0 and 0xc1 only start overlong forms */
#define UTF8_LEAD3_MIN 0xe0
#define UTF8_LEAD4_MIN 0xf0
#define UTF8_LEAD4_MAX 0xf4   /* past it: beyond U+10FFFF */

static const char hex_digits[] = "0123456789ABCDEF";

/* Code points that are well-formed but steer a terminal or how a line reads (guest_text.h). */
static bool code_point_shown_as_escape(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||        /* C1 controls */
	       cp == 0x061c ||                      /* Arabic letter mark */
	       (cp >= 0x200b && cp <= 0x200f) ||    /* zero-width space/joiners, LRM, RLM */
	       (cp >= 0x2028 && cp <= 0x202e) ||    /* separators; bidi embeddings and overrides */
	       (cp >= 0x2066 && cp <= 0x2069) ||    /* bidi isolates */
	       cp == 0xfeff;                        /* zero-width no-break space (BOM) */
}

void guest_text_init(struct guest_text *t, enum guest_text_mode mode)
{
	memset(t, 0, sizeof(*t));
	t->mode = mode;
}

static void emit_hex_byte(uint8_t b, guest_text_sink sink, void *ctx)
{
	char s[4] = { '\\', 'x', hex_digits[b >> 4], hex_digits[b & 0xf] };

	sink(ctx, s, sizeof(s));
}

static void emit_code_point_escape(uint32_t cp, guest_text_sink sink, void *ctx)
{
	char s[8] = { '<', 'U', '+', hex_digits[(cp >> 12) & 0xf], hex_digits[(cp >> 8) & 0xf],
		      hex_digits[(cp >> 4) & 0xf], hex_digits[cp & 0xf], '>' };

	sink(ctx, s, sizeof(s));
}

/* Shows the bytes of an unfinished or ill-formed sequence, and forgets it. */
static void drop_sequence(struct guest_text *t, guest_text_sink sink, void *ctx)
{
	for (unsigned i = 0; i < t->seq_len; i++)
		emit_hex_byte(t->seq[i], sink, ctx);
	t->seq_len = 0;
	t->seq_need = 0;
}

/* The allowed range of the second byte after lead (table 3-7); later ones are 80..BF. */
static bool second_byte_ok(uint8_t lead, uint8_t b)
{
	switch (lead) {
	case 0xe0: return b >= 0xa0 && b <= UTF8_CONT_MAX;   /* no overlong 3-byte forms */
	case 0xed: return b >= UTF8_CONT_MIN && b <= 0x9f;   /* no surrogates */
	case 0xf0: return b >= 0x90 && b <= UTF8_CONT_MAX;   /* no overlong 4-byte forms */
	case 0xf4: return b >= UTF8_CONT_MIN && b <= 0x8f;   /* nothing past U+10FFFF */
	default:   return b >= UTF8_CONT_MIN && b <= UTF8_CONT_MAX;
	}
}

static uint32_t sequence_code_point(const struct guest_text *t)
{
	static const uint8_t lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = t->seq[0] & lead_mask[t->seq_need];

	for (unsigned i = 1; i < t->seq_need; i++)
		cp = cp << 6 | (t->seq[i] & 0x3f);
	return cp;
}

static void finish_sequence(struct guest_text *t, guest_text_sink sink, void *ctx)
{
	uint32_t cp = sequence_code_point(t);

	if (code_point_shown_as_escape(cp))
		emit_code_point_escape(cp, sink, ctx);
	else
		sink(ctx, (const char *)t->seq, t->seq_need);
	t->seq_len = 0;
	t->seq_need = 0;
}

static bool passes_in_mode(const struct guest_text *t, uint8_t b)
{
	if (b == BYTE_TAB)
		return true;
	return t->mode == GUEST_TEXT_TERMINAL && (b == BYTE_CR || b == BYTE_LF || b == BYTE_BS);
}

/* A byte that does not continue a sequence: ASCII, a lead byte, or one that is never valid alone. */
static void render_start(struct guest_text *t, uint8_t b, guest_text_sink sink, void *ctx)
{
	if ((b >= ASCII_PRINTABLE_FIRST && b < ASCII_DEL) || passes_in_mode(t, b)) {
		sink(ctx, (const char *)&b, 1);
	} else if (b < ASCII_PRINTABLE_FIRST || b == ASCII_DEL) {
		char s[2] = { '^', b == ASCII_DEL ? '?' : (char)(b + CARET_OFFSET) };
		sink(ctx, s, sizeof(s));
	} else if (b >= UTF8_LEAD2_MIN && b <= UTF8_LEAD4_MAX) {
		t->seq[0] = b;
		t->seq_len = 1;
		t->seq_need = b >= UTF8_LEAD4_MIN ? 4 : b >= UTF8_LEAD3_MIN ? 3 : 2;
	} else {
		emit_hex_byte(b, sink, ctx);   /* a stray continuation, 0xc0/0xc1, 0xf5..0xff */
	}
}

void guest_text_render(struct guest_text *t, const uint8_t *bytes, size_t len,
		       guest_text_sink sink, void *ctx)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b = bytes[i];

		if (t->seq_need) {
			bool fits = t->seq_len == 1 ? second_byte_ok(t->seq[0], b)
						    : b >= UTF8_CONT_MIN && b <= UTF8_CONT_MAX;
			if (fits) {
				t->seq[t->seq_len++] = b;
				if (t->seq_len == t->seq_need)
					finish_sequence(t, sink, ctx);
				continue;
			}
			drop_sequence(t, sink, ctx);   /* b starts afresh below */
		}
		render_start(t, b, sink, ctx);
	}
}

void guest_text_finish(struct guest_text *t, guest_text_sink sink, void *ctx)
{
	drop_sequence(t, sink, ctx);
}

/* ---- a whole line into a buffer ------------------------------------------------------- */

struct line_buffer {
	char *out;
	size_t cap, len;
	bool full;
};

static void line_sink(void *ctx, const char *s, size_t len)
{
	struct line_buffer *b = ctx;

	/* A piece is one rendered character: all of it or none, so no escape is ever cut. */
	if (b->full || len > b->cap - 1 - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->out + b->len, s, len);
	b->len += len;
}

size_t guest_text_render_line(const uint8_t *bytes, size_t len, char *out, size_t cap)
{
	struct guest_text t;
	struct line_buffer b = { out, cap, 0, false };

	guest_text_init(&t, GUEST_TEXT_LINE);
	guest_text_render(&t, bytes, len, line_sink, &b);
	guest_text_finish(&t, line_sink, &b);
	out[b.len] = '\0';
	return b.len;
}
