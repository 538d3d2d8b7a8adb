/*
 * The console's input side: bytes typed on the serial line. Like the output side
 * (console.h) it calls no driver: bring-up attaches the source that hands over one
 * byte when one has arrived (boot/efi_main.c: the COM1 UART).
 *
 * Between commands the shell's poller reads the bytes (console_read_byte) and feeds
 * its line editor, and says whether a line is being typed (console_input_pending(),
 * console.h). While a command waits in poll_until() that poller does not run, so a
 * waiting command asks console_interrupted() whether Ctrl-C was typed: the line is
 * looked at most every CONSOLE_INTERRUPT_CHECK_MS, and other bytes typed meanwhile
 * are discarded, as a terminal discards type-ahead on an interrupt.
 */
#ifndef FERRY_CONSOLE_INPUT_H
#define FERRY_CONSOLE_INPUT_H

#include <stdbool.h>
#include <stdint.h>

/* Stores a byte and returns true when one has arrived; never blocks. */
typedef bool (*console_get_fn)(uint8_t *byte);

void console_attach_input(console_get_fn try_get);

/* The next byte typed, if one has arrived (false before a source is attached). */
bool console_read_byte(uint8_t *byte);

/* Whoever feeds the line editor: true while a line is half typed. */
void console_set_input_pending(bool typing);

#define CONSOLE_INTERRUPT_CHECK_MS 50

/* Forgets an earlier Ctrl-C; call before a wait starts. */
void console_interrupt_reset(void);
/* True once Ctrl-C was typed since the last reset. */
bool console_interrupted(void);

#endif
