/* The AML encoder (contract in aml.h; ACPI 6.5 ch. 20 and 6.4). */
#include "kernel/vdev/aml.h"

#include <string.h>

/* Opcodes and prefixes (ACPI 6.5 20.3 "AML Byte Stream Byte Values") */
#define AML_ZERO_OP        0x00
#define AML_ONE_OP         0x01
#define AML_NAME_OP        0x08
#define AML_BYTE_PREFIX    0x0a
#define AML_WORD_PREFIX    0x0b
#define AML_DWORD_PREFIX   0x0c
#define AML_STRING_PREFIX  0x0d
#define AML_QWORD_PREFIX   0x0e
#define AML_SCOPE_OP       0x10
#define AML_BUFFER_OP      0x11
#define AML_PACKAGE_OP     0x12
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX  0x5b
#define AML_DEVICE_OP      0x82   /* after the extended-op prefix */
#define AML_ROOT_CHAR      0x5c

#define AML_NAME_SEG_BYTES 4
#define AML_MAX_SEGMENTS   16
#define AML_MAX_PACKAGE_ELEMENTS 255   /* NumElements is a byte */

/* PkgLength (20.2.4): one byte holds up to 63; otherwise the lead byte's bits 7:6 count
 * the bytes that follow (1-3) and its bits 3:0 are the low nibble. */
#define PKG_ONE_BYTE_MAX 0x3full
#define PKG_LEAD_NIBBLE  0x0fu
#define PKG_MAX          0x0fffffffull
#define PKG_HEADER_MAX   4

/* Resource descriptors (6.4.2 small, 6.4.3 large) */
#define RES_IO_TAG          0x47   /* small item 0x08, length 7 */
#define RES_IO_DECODE16     0x01
#define RES_END_TAG         0x79   /* small item 0x0F, length 1 */
#define RES_MEMORY32_FIXED  0x86
#define RES_MEMORY32_FIXED_LENGTH 9
#define RES_MEMORY_READ_WRITE 0x01
#define RES_EXT_INTERRUPT   0x89
#define RES_EXT_INTERRUPT_ONE_LENGTH 6   /* flags, count, one 32-bit interrupt */
#define RES_INT_CONSUMER    (1u << 0)
#define RES_INT_EDGE        (1u << 1)
#define RES_INT_ACTIVE_LOW  (1u << 2)

#define EISA_ID_CHARS 7

static void fail(struct aml_writer *w, const char *why)
{
	if (!w->error)
		w->error = why;
}

void aml_init(struct aml_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
}

static void put(struct aml_writer *w, const void *bytes, size_t n)
{
	if (w->error)
		return;
	if (n > w->cap - w->len) {
		fail(w, "AML: buffer full");
		return;
	}
	memcpy(w->buf + w->len, bytes, n);
	w->len += n;
}

static void put_byte(struct aml_writer *w, uint8_t b) { put(w, &b, 1); }

static void put_le(struct aml_writer *w, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		put_byte(w, (uint8_t)(v >> (8 * i)));
}

/* Encodes `value` as the shortest AML integer into out; returns its length. */
static size_t integer_bytes(uint64_t value, uint8_t out[9])
{
	unsigned width;

	if (value == 0 || value == 1) {
		out[0] = value ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (value <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		width = 1;
	} else if (value <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		width = 2;
	} else if (value <= 0xffffffffull) {
		out[0] = AML_DWORD_PREFIX;
		width = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		width = 8;
	}
	for (unsigned i = 0; i < width; i++)
		out[1 + i] = (uint8_t)(value >> (8 * i));
	return 1 + width;
}

static void put_integer(struct aml_writer *w, uint64_t value)
{
	uint8_t bytes[9];
	put(w, bytes, integer_bytes(value, bytes));
}

static bool name_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* NameString (20.2.2): root prefix, then one segment, a dual-name prefix with two, or a
 * multi-name prefix with a count. */
static void put_name(struct aml_writer *w, const char *path)
{
	char segs[AML_MAX_SEGMENTS][AML_NAME_SEG_BYTES];
	unsigned count = 0;
	const char *p = path;

	if (!path || !*path) {
		fail(w, "AML: empty name");
		return;
	}
	if (*p == '\\')
		p++;
	while (*p) {
		unsigned n = 0;
		if (count == AML_MAX_SEGMENTS) {
			fail(w, "AML: name with too many segments");
			return;
		}
		while (*p && *p != '.') {
			if (n == AML_NAME_SEG_BYTES || !name_char(*p, n == 0)) {
				fail(w, "AML: bad name segment");
				return;
			}
			segs[count][n++] = *p++;
		}
		if (n == 0) {
			fail(w, "AML: empty name segment");
			return;
		}
		while (n < AML_NAME_SEG_BYTES)
			segs[count][n++] = '_';
		count++;
		if (*p == '.' && !*++p) {
			fail(w, "AML: name ends with '.'");
			return;
		}
	}
	if (count == 0) {
		fail(w, "AML: a root with no segment");
		return;
	}
	if (*path == '\\')
		put_byte(w, AML_ROOT_CHAR);
	if (count == 2) {
		put_byte(w, AML_DUAL_NAME_PREFIX);
	} else if (count > 2) {
		put_byte(w, AML_MULTI_NAME_PREFIX);
		put_byte(w, (uint8_t)count);
	}
	put(w, segs, (size_t)count * AML_NAME_SEG_BYTES);
}

/* ---- objects with a PkgLength ---------------------------------------------------- */
static void open_object(struct aml_writer *w, enum aml_open_kind kind)
{
	if (w->error)
		return;
	if (w->depth == AML_MAX_DEPTH) {
		fail(w, "AML: nesting too deep");
		return;
	}
	w->open[w->depth].body = w->len;
	w->open[w->depth].kind = kind;
	w->open[w->depth].count = 0;
	w->depth++;
}

static size_t pkg_length_bytes(size_t body, uint8_t out[PKG_HEADER_MAX])
{
	for (size_t n = 1; n <= PKG_HEADER_MAX; n++) {
		uint64_t total = body + n;
		if (n == 1 && total <= PKG_ONE_BYTE_MAX) {
			out[0] = (uint8_t)total;
			return 1;
		}
		if (n > 1 && total < (1ull << (4 + 8 * (n - 1))) && total <= PKG_MAX) {
			out[0] = (uint8_t)((n - 1) << 6 | (total & PKG_LEAD_NIBBLE));
			for (size_t i = 1; i < n; i++)
				out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
			return n;
		}
	}
	return 0;
}

/* Inserts `n` header bytes where the innermost open object's body starts. */
static void insert_header(struct aml_writer *w, size_t at, const uint8_t *header, size_t n)
{
	if (w->error)
		return;
	if (n > w->cap - w->len) {
		fail(w, "AML: buffer full");
		return;
	}
	memmove(w->buf + at + n, w->buf + at, w->len - at);
	memcpy(w->buf + at, header, n);
	w->len += n;
}

void aml_end(struct aml_writer *w)
{
	uint8_t header[PKG_HEADER_MAX + 9];
	size_t n, body_len;

	if (w->error)
		return;
	if (w->depth == 0) {
		fail(w, "AML: end without an open object");
		return;
	}
	w->depth--;
	size_t body = w->open[w->depth].body;
	enum aml_open_kind kind = w->open[w->depth].kind;
	if (kind == AML_OPEN_RESOURCES) {
		put_byte(w, RES_END_TAG);
		put_byte(w, 0);   /* checksum 0: "the checksum is ignored" (6.4.2.9) */
	}
	body_len = w->len - body;
	uint8_t extra[9];
	size_t extra_len = 0;
	if (kind == AML_OPEN_PACKAGE) {
		extra[0] = (uint8_t)w->open[w->depth].count;
		extra_len = 1;
	} else if (kind == AML_OPEN_RESOURCES) {
		extra_len = integer_bytes(body_len, extra);   /* BufferSize */
	}
	n = pkg_length_bytes(body_len + extra_len, header);
	if (n == 0) {
		fail(w, "AML: object too large");
		return;
	}
	memcpy(header + n, extra, extra_len);
	insert_header(w, body, header, n + extra_len);
}

void aml_scope_begin(struct aml_writer *w, const char *name)
{
	put_byte(w, AML_SCOPE_OP);
	open_object(w, AML_OPEN_SCOPE);
	put_name(w, name);
}

void aml_device_begin(struct aml_writer *w, const char *name)
{
	put_byte(w, AML_EXT_OP_PREFIX);
	put_byte(w, AML_DEVICE_OP);
	open_object(w, AML_OPEN_DEVICE);
	put_name(w, name);
}

/* ---- named objects ----------------------------------------------------------------- */
static void name_op(struct aml_writer *w, const char *name)
{
	if (w->depth && (w->open[w->depth - 1].kind == AML_OPEN_PACKAGE ||
			 w->open[w->depth - 1].kind == AML_OPEN_RESOURCES))
		fail(w, "AML: a name inside a package or resource template");
	put_byte(w, AML_NAME_OP);
	put_name(w, name);
}

void aml_name_integer(struct aml_writer *w, const char *name, uint64_t value)
{
	name_op(w, name);
	put_integer(w, value);
}

void aml_name_string(struct aml_writer *w, const char *name, const char *value)
{
	name_op(w, name);
	put_byte(w, AML_STRING_PREFIX);
	for (const char *c = value; *c; c++)
		if ((unsigned char)*c < 0x01 || (unsigned char)*c > 0x7f)
			fail(w, "AML: a string must be ASCII");
	put(w, value, strlen(value) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* EisaId (19.6.35): three letters of 5 bits each ('A' is 1) then four hex digits, as a
 * big-endian 32-bit value, stored as an integer. */
void aml_name_eisa_id(struct aml_writer *w, const char *name, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != EISA_ID_CHARS) {
		fail(w, "AML: an EISA ID has 7 characters");
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(w, "AML: an EISA ID starts with three capitals");
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < EISA_ID_CHARS; i++) {
		int d = hex_digit(id[i]);
		if (d < 0) {
			fail(w, "AML: an EISA ID ends with four hex digits");
			return;
		}
		v = v << 4 | (uint32_t)d;
	}
	name_op(w, name);
	put_byte(w, AML_DWORD_PREFIX);
	/* The 32-bit big-endian ID, byte by byte. */
	put_byte(w, (uint8_t)(v >> 24));
	put_byte(w, (uint8_t)(v >> 16));
	put_byte(w, (uint8_t)(v >> 8));
	put_byte(w, (uint8_t)v);
}

void aml_name_package_begin(struct aml_writer *w, const char *name)
{
	name_op(w, name);
	put_byte(w, AML_PACKAGE_OP);
	open_object(w, AML_OPEN_PACKAGE);
}

void aml_package_integer(struct aml_writer *w, uint64_t value)
{
	if (!w->depth || w->open[w->depth - 1].kind != AML_OPEN_PACKAGE) {
		fail(w, "AML: a package element outside a package");
		return;
	}
	if (w->open[w->depth - 1].count == AML_MAX_PACKAGE_ELEMENTS) {
		fail(w, "AML: too many package elements");
		return;
	}
	w->open[w->depth - 1].count++;
	put_integer(w, value);
}

/* ---- resource templates ------------------------------------------------------------ */
void aml_name_resources_begin(struct aml_writer *w, const char *name)
{
	name_op(w, name);
	put_byte(w, AML_BUFFER_OP);
	open_object(w, AML_OPEN_RESOURCES);
}

static bool in_resources(struct aml_writer *w)
{
	if (w->depth && w->open[w->depth - 1].kind == AML_OPEN_RESOURCES)
		return true;
	fail(w, "AML: a resource descriptor outside a resource template");
	return false;
}

void aml_resource_io(struct aml_writer *w, uint16_t base, uint8_t length)
{
	if (!in_resources(w))
		return;
	put_byte(w, RES_IO_TAG);
	put_byte(w, RES_IO_DECODE16);
	put_le(w, base, 2);   /* minimum */
	put_le(w, base, 2);   /* maximum */
	put_byte(w, 1);       /* alignment */
	put_byte(w, length);
}

void aml_resource_memory32(struct aml_writer *w, uint32_t base, uint32_t length)
{
	if (!in_resources(w))
		return;
	put_byte(w, RES_MEMORY32_FIXED);
	put_le(w, RES_MEMORY32_FIXED_LENGTH, 2);
	put_byte(w, RES_MEMORY_READ_WRITE);
	put_le(w, base, 4);
	put_le(w, length, 4);
}

void aml_resource_interrupt(struct aml_writer *w, uint32_t gsi, bool level, bool active_low)
{
	if (!in_resources(w))
		return;
	put_byte(w, RES_EXT_INTERRUPT);
	put_le(w, RES_EXT_INTERRUPT_ONE_LENGTH, 2);
	put_byte(w, (uint8_t)(RES_INT_CONSUMER | (level ? 0 : RES_INT_EDGE) |
			      (active_low ? RES_INT_ACTIVE_LOW : 0)));
	put_byte(w, 1);   /* one interrupt */
	put_le(w, gsi, 4);
}

size_t aml_finish(struct aml_writer *w, const char **why)
{
	if (!w->error && w->depth)
		fail(w, "AML: an object left open");
	if (w->error) {
		if (why)
			*why = w->error;
		return 0;
	}
	return w->len;
}
