/* Console output; see console.h. */
#include "kernel/console.h"
#include "kernel/lib/format.h"

#include <string.h>

static console_put_fn put_byte;

void console_attach_output(console_put_fn put)
{
	put_byte = put;
}

static void console_sink(void *ctx, char c)
{
	(void)ctx;
	if (!put_byte)
		return;
	if (c == '\n')
		put_byte('\r');
	put_byte(c);
}

void console_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		console_sink(NULL, s[i]);
}

void console_write_raw(const char *s, size_t len)
{
	for (size_t i = 0; i < len && put_byte; i++)
		put_byte(s[i]);
}

void console_puts(const char *s)
{
	console_write(s, strlen(s));
}

void kvprintf(const char *fmt, va_list ap)
{
	fmt_vformat(console_sink, NULL, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
