/* panic(); see panic.h. */
#include "kernel/panic.h"
#include "kernel/console.h"

#include <stdarg.h>
#include <stddef.h>

static const struct panic_arch *arch;

void panic_attach(const struct panic_arch *ops)
{
	arch = ops;
}

void panic(const char *fmt, ...)
{
	va_list ap;

	if (arch)
		arch->quiesce();
	console_panic();
	kprintf("\nFERRY PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	if (arch)
		arch->dump();
	kprintf("Ferry stopped.\n");
	if (arch)
		arch->halt();
	for (;;)
		;
}
