/*
 * printf-style formatting, portable (image and host).
 *
 * Supports %d %i %u %x %X %o %p %s %c %% with the flags '-', '0', ' ', '+', '#',
 * a width and a precision (either may be '*'), and the length modifiers
 * hh h l ll z t j. Floating point is not supported: Ferry's image has no
 * FPU use of its own, so that guest FPU state never needs saving around it.
 *
 * fmt_vformat() hands every character to a sink, so output of any length can be
 * produced without a buffer; fmt_snprintf() always NUL-terminates (when size > 0)
 * and returns the length the full output would have had, like C's snprintf.
 */
#ifndef FERRY_FORMAT_H
#define FERRY_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_sink)(void *ctx, char c);

size_t fmt_vformat(fmt_sink sink, void *ctx, const char *fmt, va_list ap);
size_t fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
