/*
 * The command shell on the serial console (prompt `ferry> `), in the style of
 * Xen's xl: short stable commands, positional arguments then key=value options,
 * aligned tables and key=value figures that scripts can read.
 *
 * Each module exports a table of struct shell_command (ended by an entry with a
 * NULL name) and kernel/shell/command_tables.c lists the tables. A handler returns
 * SHELL_USAGE for wrong arguments (the shell then prints the usage line), or
 * SHELL_FAILED after printing its own `error: ...` line via shell_error().
 */
#ifndef FERRY_SHELL_H
#define FERRY_SHELL_H

#include <stdbool.h>

enum shell_status { SHELL_OK, SHELL_USAGE, SHELL_FAILED };

struct shell_command {
	const char *name;
	const char *usage;     /* arguments after the name, e.g. "NAME IMAGE [memory=MIB]" */
	const char *summary;   /* one line for `help` */
	enum shell_status (*run)(int argc, char **argv);  /* argv[0] is the command name */
};

#define SHELL_PROMPT "ferry> "

/* Runs one line as a command (the line is modified). */
void shell_execute(char *line);

/* Prints "error: ..." on its own line. */
void shell_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Looks a command up by name; NULL when unknown. */
const struct shell_command *shell_find(const char *name);

/* Calls fn for every command, in `help` order. */
void shell_for_each(void (*fn)(const struct shell_command *cmd, void *ctx), void *ctx);

#endif
