/*
 * Ctrl-C while a command waits. The console poller does not run while a command
 * waits in poll_until(), so waiting commands ask here; the UART is looked at most
 * every CONSOLE_INTERRUPT_CHECK_MS. Other bytes typed meanwhile are discarded, as a
 * terminal discards type-ahead on an interrupt.
 */
#ifndef FERRY_CONSOLE_INTERRUPT_H
#define FERRY_CONSOLE_INTERRUPT_H

#include <stdbool.h>

#define CONSOLE_INTERRUPT_CHECK_MS 50

/* Forgets an earlier Ctrl-C; call before a wait starts. */
void console_interrupt_reset(void);
/* True once Ctrl-C was typed since the last reset. */
bool console_interrupted(void);

#endif
