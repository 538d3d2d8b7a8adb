/*
 * The one renderer of guest bytes for the operator's terminal. A guest's bytes
 * reach Ferry's console as `[NAME] line` lines, as the `console NAME` dump and as
 * an attached session; all of them pass through guest_text_render(), so that no
 * guest can rewrite the screen, forge a line (a fake migration result), ring the
 * bell or make a terminal that answers reports type into Ferry's console.
 *
 * What passes unchanged: printable ASCII; well-formed UTF-8 of printable code
 * points; TAB; and, in GUEST_TEXT_TERMINAL mode only, the bytes a terminal
 * session needs (CR, LF, BS). Everything else is shown, never sent:
 *   - C0 controls and DEL in caret notation, as `cat -v` does: ESC is "^[",
 *     BEL "^G", DEL "^?" (so an escape sequence appears as "^[[2J", inert);
 *   - a byte that is not part of well-formed UTF-8 (a stray continuation byte,
 *     an overlong form, a surrogate, a code point past U+10FFFF, a truncated
 *     sequence) as "\xHH", byte by byte;
 *   - code points that are well-formed but steer a terminal or the reading of a
 *     line as "<U+XXXX>": the C1 controls (U+0080-U+009F, among them CSI
 *     U+009B), the bidirectional overrides, embeddings, isolates and marks
 *     (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), the line and
 *     paragraph separators (U+2028, U+2029), and the invisible U+200B-U+200D and
 *     U+FEFF.
 * One byte of input becomes at most GUEST_TEXT_MAX_EXPANSION bytes of output.
 *
 * The renderer is a stream: a UTF-8 sequence may arrive split across calls
 * (an attached session sees one byte per UART write); guest_text_finish() ends
 * the stream and shows an unfinished sequence as "\xHH".
 *
 * Portable (image and host), no allocation.
 */
#ifndef FERRY_LIB_GUEST_TEXT_H
#define FERRY_LIB_GUEST_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_TEXT_MAX_EXPANSION 4   /* "\xHH" for one byte; "<U+XXXX>" (8) for 2-3 bytes */

enum guest_text_mode {
	GUEST_TEXT_LINE,       /* one console line: CR, LF and BS shown too */
	GUEST_TEXT_TERMINAL,   /* an attached session or a dump of one: CR, LF, BS pass */
};

/* Where rendered text goes: called with pieces of at most 8 bytes. */
typedef void (*guest_text_sink)(void *ctx, const char *s, size_t len);

struct guest_text {
	enum guest_text_mode mode;
	uint8_t seq[4];        /* a UTF-8 sequence under way */
	uint8_t seq_len;       /* bytes of it held */
	uint8_t seq_need;      /* its full length (0: none under way) */
};

void guest_text_init(struct guest_text *t, enum guest_text_mode mode);

/* Renders len guest bytes to sink, keeping an unfinished UTF-8 sequence for the next call. */
void guest_text_render(struct guest_text *t, const uint8_t *bytes, size_t len,
		       guest_text_sink sink, void *ctx);

/* Ends the stream: an unfinished UTF-8 sequence is shown byte by byte as "\xHH". */
void guest_text_finish(struct guest_text *t, guest_text_sink sink, void *ctx);

/*
 * One whole line, rendered into out (NUL-terminated, cap >= 1); returns its
 * length. Output that does not fit is cut at a rendered character's boundary,
 * never inside an escape.
 */
size_t guest_text_render_line(const uint8_t *bytes, size_t len, char *out, size_t cap);

#endif
