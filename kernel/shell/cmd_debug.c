/*
 * `crash KIND`: makes Ferry fault on purpose, so that an operator (and the test
 * suite) can see that the crash report works and that Ferry's memory protection
 * holds: null pointers, writes to code, execution of data and stack overflow
 * each fault at once instead of corrupting memory. It stops the machine.
 * Only in the debug image (build/ferry-debug.efi, FERRY_DEBUG): a production
 * host cannot be made to fault on purpose from its console.
 */
#include "kernel/console.h"
#include "kernel/panic.h"
#include "kernel/shell/shell.h"

#include <stdint.h>
#include <string.h>

static volatile uint64_t *volatile null_pointer;
static uint8_t data_bytes[16] = { 0xc3 };   /* `ret`, in a no-execute page */

/* Recurses until the stack is gone; the limit only exists to keep the compiler honest. */
__attribute__((noinline)) static uint64_t recurse(uint64_t depth, uint64_t limit)
{
	volatile uint8_t pad[512];

	pad[0] = (uint8_t)depth;
	if (depth == limit)
		return pad[0];
	return recurse(depth + 1, limit) + pad[0];
}

static void crash_null(void)
{
	kprintf("reading address 0\n");
	(void)*null_pointer;
}

static void crash_write_code(void)
{
	volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)&crash_null;

	kprintf("writing to Ferry's own code at %p\n", (void *)code);
	*code = 0xcc;
}

static void crash_exec_data(void)
{
	void (*fn)(void) = (void (*)(void))(uintptr_t)data_bytes;

	kprintf("executing Ferry's data at %p\n", (void *)data_bytes);
	fn();
}

static void crash_stack(void)
{
	kprintf("recursing until the stack overflows\n");
	recurse(0, UINT64_MAX);
}

static void crash_ud(void)
{
	kprintf("executing an undefined instruction\n");
	__asm__ volatile("ud2");
}

static void crash_panic(void)
{
	panic("crash command: a deliberate panic");
}

static const struct {
	const char *kind;
	void (*fn)(void);
} crashes[] = {
	{ "null", crash_null },
	{ "write-code", crash_write_code },
	{ "exec-data", crash_exec_data },
	{ "stack", crash_stack },
	{ "ud", crash_ud },
	{ "panic", crash_panic },
};

static enum shell_status cmd_crash(int argc, char **argv)
{
	if (argc != 2)
		return SHELL_USAGE;
	for (size_t i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++) {
		if (strcmp(argv[1], crashes[i].kind) == 0) {
			crashes[i].fn();
			shell_error("crash %s did not fault: Ferry's memory protection is broken", argv[1]);
			return SHELL_FAILED;
		}
	}
	return SHELL_USAGE;
}

const struct shell_command debug_commands[] = {
	{ "crash", "null|write-code|exec-data|stack|ud|panic",
	  "fault on purpose to check the crash report (stops the machine)", cmd_crash },
	{ NULL, NULL, NULL, NULL },
};
