/* Console input and Ctrl-C while a command waits; see console_input.h. */
#include "kernel/console_input.h"
#include "kernel/console.h"
#include "kernel/clock.h"

#define CTRL_C 0x03

static console_get_fn get_byte;
static bool input_pending;
static bool interrupt_seen;
static uint64_t next_check_ms;

void console_attach_input(console_get_fn try_get)
{
	get_byte = try_get;
}

bool console_read_byte(uint8_t *byte)
{
	return get_byte && get_byte(byte);
}

void console_set_input_pending(bool typing)
{
	input_pending = typing;
}

bool console_input_pending(void)
{
	return input_pending;
}

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
	while (console_read_byte(&byte))
		if (byte == CTRL_C)
			interrupt_seen = true;
	return interrupt_seen;
}
