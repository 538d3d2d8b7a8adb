/*
 * panic(): for broken invariants of Ferry itself only (errors that callers can
 * handle are values, see errors.h). Prints the message, the registers and a
 * backtrace on the console, then stops the machine.
 */
#ifndef FERRY_PANIC_H
#define FERRY_PANIC_H

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

#define BUG_ON(cond) \
	do { if (cond) panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); } while (0)

#endif
