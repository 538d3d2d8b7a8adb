/* panic(); see panic.h. */
#include "kernel/panic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "kernel/console.h"

#include <stdarg.h>

void panic(const char *fmt, ...)
{
	struct trap_frame frame;
	va_list ap;

	cpu_disable_interrupts();
	arch_save_registers(&frame);
	frame.rbp = read_rbp();
	kprintf("\nFERRY PANIC: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	trap_dump(&frame);
	kprintf("Ferry stopped.\n");
	cpu_halt_forever();
}
