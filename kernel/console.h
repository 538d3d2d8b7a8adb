/*
 * Ferry's console output: formatted text to the serial line, with '\n' sent as
 * CR LF. Everything people and scripts read comes through here.
 */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

void console_write(const char *s, size_t len);
void console_puts(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* True while someone is typing a command line (kernel/main.c): output that can wait should. */
bool console_input_pending(void);

#endif
