/* printf-style formatting; see format.h for the contract. */
#include "kernel/lib/format.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
	bool left;        /* '-' */
	bool zero;        /* '0' */
	bool plus;        /* '+' */
	bool space;       /* ' ' */
	bool alternate;   /* '#': 0x before hexadecimal, a leading 0 for octal */
	int width;
	int precision;    /* -1: none given */
};

struct out {
	fmt_sink sink;
	void *ctx;
	size_t count;
};

static void emit(struct out *o, char c)
{
	o->sink(o->ctx, c);
	o->count++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
	size_t len = 0;

	if (!s)
		s = "(null)";
	while (s[len] && (sp->precision < 0 || len < (size_t)sp->precision))
		len++;
	int fill = sp->width > (int)len ? sp->width - (int)len : 0;
	if (!sp->left)
		pad(o, ' ', fill);
	for (size_t i = 0; i < len; i++)
		emit(o, s[i]);
	if (sp->left)
		pad(o, ' ', fill);
}

static void emit_number(struct out *o, const struct spec *sp, uint64_t magnitude,
			bool negative, unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[magnitude % base];
		magnitude /= base;
	} while (magnitude);
	if (sp->precision == 0 && n == 1 && tmp[0] == '0')
		n = 0;

	char sign = negative ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
	int prefix_len = 0;
	while (prefix && prefix[prefix_len])
		prefix_len++;
	int zeros = sp->precision > n ? sp->precision - n : 0;
	int body = n + zeros + prefix_len + (sign ? 1 : 0);
	int fill = sp->width > body ? sp->width - body : 0;
	bool zero_fill = sp->zero && !sp->left && sp->precision < 0;

	if (!sp->left && !zero_fill)
		pad(o, ' ', fill);
	if (sign)
		emit(o, sign);
	for (int i = 0; i < prefix_len; i++)
		emit(o, prefix[i]);
	if (zero_fill)
		pad(o, '0', fill);
	pad(o, '0', zeros);
	while (n)
		emit(o, tmp[--n]);
	if (sp->left)
		pad(o, ' ', fill);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_MAX };

static int64_t fetch_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:    return (signed char)va_arg(*ap, int);
	case LEN_SHORT:   return (short)va_arg(*ap, int);
	case LEN_LONG:    return va_arg(*ap, long);
	case LEN_LLONG:   return va_arg(*ap, long long);
	case LEN_SIZE:    return (int64_t)va_arg(*ap, size_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	case LEN_MAX:     return va_arg(*ap, intmax_t);
	default:          return va_arg(*ap, int);
	}
}

static uint64_t fetch_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR:    return (unsigned char)va_arg(*ap, unsigned);
	case LEN_SHORT:   return (unsigned short)va_arg(*ap, unsigned);
	case LEN_LONG:    return va_arg(*ap, unsigned long);
	case LEN_LLONG:   return va_arg(*ap, unsigned long long);
	case LEN_SIZE:    return va_arg(*ap, size_t);
	case LEN_PTRDIFF: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_MAX:     return va_arg(*ap, uintmax_t);
	default:          return va_arg(*ap, unsigned);
	}
}

size_t fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap_in)
{
	struct out o = { sink, ctx, 0 };
	va_list ap;

	va_copy(ap, ap_in);
	while (*fmt) {
		if (*fmt != '%') {
			emit(&o, *fmt++);
			continue;
		}
		fmt++;
		struct spec sp = { .precision = -1 };
		for (;; fmt++) {
			if (*fmt == '-')      sp.left = true;
			else if (*fmt == '0') sp.zero = true;
			else if (*fmt == '+') sp.plus = true;
			else if (*fmt == ' ') sp.space = true;
			else if (*fmt == '#') sp.alternate = true;
			else break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.precision = 0;
			if (*fmt == '*') {
				sp.precision = va_arg(ap, int);
				if (sp.precision < 0)
					sp.precision = -1;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.precision = sp.precision * 10 + (*fmt++ - '0');
			}
		}
		enum length len = LEN_INT;
		if (*fmt == 'h') {
			fmt++;
			len = LEN_SHORT;
			if (*fmt == 'h') { fmt++; len = LEN_CHAR; }
		} else if (*fmt == 'l') {
			fmt++;
			len = LEN_LONG;
			if (*fmt == 'l') { fmt++; len = LEN_LLONG; }
		} else if (*fmt == 'z') { fmt++; len = LEN_SIZE; }
		else if (*fmt == 't') { fmt++; len = LEN_PTRDIFF; }
		else if (*fmt == 'j') { fmt++; len = LEN_MAX; }

		char conv = *fmt;
		if (!conv)
			break;
		fmt++;
		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v = fetch_signed(&ap, len);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			emit_number(&o, &sp, mag, v < 0, 10, false, NULL);
			break;
		}
		case 'u':
			emit_number(&o, &sp, fetch_unsigned(&ap, len), false, 10, false, NULL);
			break;
		case 'x':
		case 'X': {
			uint64_t v = fetch_unsigned(&ap, len);
			const char *prefix = sp.alternate && v ? (conv == 'X' ? "0X" : "0x") : NULL;
			emit_number(&o, &sp, v, false, 16, conv == 'X', prefix);
			break;
		}
		case 'o': {
			uint64_t v = fetch_unsigned(&ap, len);
			emit_number(&o, &sp, v, false, 8, false, sp.alternate && v ? "0" : NULL);
			break;
		}
		case 'p':
			emit_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, "0x");
			break;
		case 's':
			emit_string(&o, &sp, va_arg(ap, const char *));
			break;
		case 'c': {
			char s[2] = { (char)va_arg(ap, int), 0 };
			sp.precision = 1;
			if (s[0] == 0) { /* a NUL character still counts as output */
				pad(&o, ' ', sp.left ? 0 : sp.width - 1);
				emit(&o, 0);
				pad(&o, ' ', sp.left ? sp.width - 1 : 0);
			} else {
				emit_string(&o, &sp, s);
			}
			break;
		}
		case '%':
			emit(&o, '%');
			break;
		default: /* unknown conversion: show it as written */
			emit(&o, '%');
			emit(&o, conv);
			break;
		}
	}
	va_end(ap);
	return o.count;
}

struct buffer {
	char *buf;
	size_t size;
	size_t used;
};

static void buffer_sink(void *ctx, char c)
{
	struct buffer *b = ctx;

	if (b->used + 1 < b->size)
		b->buf[b->used++] = c;
}

size_t fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buffer b = { buf, size, 0 };
	size_t n = fmt_vformat(buffer_sink, &b, fmt, ap);

	if (size)
		buf[b.used] = '\0';
	return n;
}

size_t fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	size_t n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
