/*
 * panic(): for broken invariants of Ferry itself only (errors that callers can
 * handle are values, see errors.h). Prints the message, the registers and a
 * backtrace on the console, then stops the machine.
 *
 * The ground floor knows no CPU: the arch attaches what only it can do (stop
 * interrupts, dump the registers and a backtrace, halt) at bring-up, through
 * panic_attach() (kernel/main.c attaches arch/x86/trap.c's). A panic before that
 * prints its message and spins.
 */
#ifndef FERRY_PANIC_H
#define FERRY_PANIC_H

struct panic_arch {
	/* First of all: nothing may interrupt the report. */
	void (*quiesce)(void);
	/* The registers and a backtrace as panic() sees them, its caller first. */
	void (*dump)(void);
	/* Last: stops this CPU for good. */
	__attribute__((noreturn)) void (*halt)(void);
};

void panic_attach(const struct panic_arch *arch);

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#define BUG_ON(cond) \
	do { if (cond) panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); } while (0)

#endif
