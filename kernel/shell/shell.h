/*
 * The command shell on the serial console (prompt `ferry> `), in the style of
 * Xen's xl: short stable commands, positional arguments then key=value options,
 * aligned tables and key=value figures that scripts can read.
 *
 * The shell owns the console's input: its poller (shell_poll, registered by
 * kernel_main as the POLL_CONSOLE poller) reads the bytes typed, feeds the line
 * editor and runs each complete line as a command.
 *
 * Each module exports a table of struct shell_command (ended by an entry with a
 * NULL name) and kernel/shell/command_tables.c lists the tables. A handler returns
 * SHELL_USAGE for wrong arguments (the shell then prints the usage line), or
 * SHELL_FAILED after printing its own `error: ...` line via shell_error().
 */
#ifndef FERRY_SHELL_H
#define FERRY_SHELL_H

#include "kernel/shell/cmdline.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum shell_status { SHELL_OK, SHELL_USAGE, SHELL_FAILED };

struct shell_command {
	const char *name;
	const char *usage;     /* arguments after the name, e.g. "NAME IMAGE [memory=MIB]" */
	const char *summary;   /* one line for `help` */
	enum shell_status (*run)(int argc, char **argv);  /* argv[0] is the command name */
};

#define SHELL_PROMPT "ferry> "

/* Greets the operator with the banner and the first prompt; the shell then reads the console. */
void shell_start(void);

/* The console poller: reads what was typed (a bounded number of bytes a call) and runs complete lines. */
void shell_poll(void);

/* Runs one line as a command (the line is modified). */
void shell_execute(char *line);

/* Prints "error: ..." on its own line. */
void shell_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A command's key=value options, declared as a table (cmdline.h): SHELL_OK with the
 * values in their targets, SHELL_USAGE when not exactly `positionals` words (the
 * name included) precede the options, or SHELL_FAILED after the error line.
 */
enum shell_status shell_parse_options(int argc, char **argv, int positionals,
				      const struct cmdline_option *options, size_t count);

/* A numeric argument within [min, max]; false after "error: NAME must be a number from MIN to MAX". */
bool shell_parse_number(const char *name, const char *text, uint64_t min, uint64_t max,
			uint64_t *out);

/* Looks a command up by name; NULL when unknown. */
const struct shell_command *shell_find(const char *name);

/* Calls fn for every command, in `help` order. */
void shell_for_each(void (*fn)(const struct shell_command *cmd, void *ctx), void *ctx);

#endif
