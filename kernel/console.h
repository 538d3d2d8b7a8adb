/*
 * Ferry's console: the text people and scripts read, formatted here and sent with
 * '\n' as CR LF. The console calls no driver: bring-up attaches the sink that puts
 * one byte on the line (boot/efi_main.c: the COM1 UART) before the first line is
 * printed; output before that goes nowhere (the kernel log's ring still keeps it).
 * The input side is console_input.h.
 */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Puts one byte on the line, waiting as long as the device needs. */
typedef void (*console_put_fn)(char c);

void console_attach_output(console_put_fn put);

void console_write(const char *s, size_t len);
void console_puts(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

/* Bytes exactly as given, no CR added: for the line editor's echo, which sends its own CR LF. */
void console_write_raw(const char *s, size_t len);

/*
 * True while someone is typing a command line: output that can wait should (a
 * guest's console lines do). The shell, which feeds the line editor, says so through
 * console_set_input_pending() (console_input.h).
 */
bool console_input_pending(void);

#endif
