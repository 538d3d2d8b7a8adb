/* Ctrl-C while a command waits (console_interrupt.h). */
#include "kernel/console_interrupt.h"

#include "drivers/uart16550.h"
#include "kernel/clock.h"

#include <stdint.h>

#define CTRL_C 0x03

static bool interrupt_seen;
static uint64_t next_check_ms;

void console_interrupt_reset(void)
{
	interrupt_seen = false;
	next_check_ms = 0;
}

bool console_interrupted(void)
{
	uint64_t now = clock_ms();
	uint8_t byte;

	if (interrupt_seen || now < next_check_ms)
		return interrupt_seen;
	next_check_ms = now + CONSOLE_INTERRUPT_CHECK_MS;
	while (uart_try_getc(&byte))
		if (byte == CTRL_C)
			interrupt_seen = true;
	return interrupt_seen;
}
