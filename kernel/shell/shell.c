/* The command shell; see shell.h. */
#include "kernel/shell/shell.h"
#include "kernel/shell/cmdline.h"
#include "kernel/shell/console_attach.h"
#include "kernel/shell/line_editor.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/lib/errors.h"

#include <stdarg.h>
#include <string.h>

/* Bounded, so that a flood of input cannot starve the other pollers. */
#define BYTES_PER_POLL 64

extern const struct shell_command *const shell_command_tables[];

static struct line_editor editor;

void shell_for_each(void (*fn)(const struct shell_command *cmd, void *ctx), void *ctx)
{
	for (int t = 0; shell_command_tables[t]; t++)
		for (const struct shell_command *c = shell_command_tables[t]; c->name; c++)
			fn(c, ctx);
}

const struct shell_command *shell_find(const char *name)
{
	for (int t = 0; shell_command_tables[t]; t++)
		for (const struct shell_command *c = shell_command_tables[t]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

void shell_error(const char *fmt, ...)
{
	va_list ap;

	console_puts("error: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	console_puts("\n");
}

enum shell_status shell_parse_options(int argc, char **argv, int positionals,
				      const struct cmdline_option *options, size_t count)
{
	char err[CMDLINE_ERROR_MAX];

	switch (cmdline_parse_options(argc, argv, positionals, options, count, err)) {
	case CMDLINE_OK:
		return SHELL_OK;
	case CMDLINE_USAGE:
		return SHELL_USAGE;
	case CMDLINE_INVALID:
		break;
	}
	shell_error("%s", err);
	return SHELL_FAILED;
}

bool shell_parse_number(const char *name, const char *text, uint64_t min, uint64_t max,
			uint64_t *out)
{
	char err[CMDLINE_ERROR_MAX];

	if (cmdline_parse_number(name, NULL, text, min, max, out, err))
		return true;
	shell_error("%s", err);
	return false;
}

void shell_execute(char *line)
{
	char *argv[CMDLINE_MAX_ARGS];
	int argc = 0;
	int err = cmdline_split(line, &argc, argv);

	if (err == FERR_TOOBIG) {
		shell_error("too many words (at most %d)", CMDLINE_MAX_ARGS);
		return;
	}
	if (err) {
		shell_error("unterminated quote");
		return;
	}
	if (argc == 0)
		return;
	const struct shell_command *cmd = shell_find(argv[0]);
	if (!cmd) {
		/* Show at most 32 characters of what was typed: it may be garbage. */
		shell_error("unknown command '%.32s' (try help)", argv[0]);
		return;
	}
	if (cmd->run(argc, argv) == SHELL_USAGE)
		kprintf("usage: %s%s%s\n", cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
}

static void echo_to_console(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	console_write_raw(s, len);
}

void shell_start(void)
{
	line_editor_init(&editor, echo_to_console, NULL);
	console_puts("\nFerry " FERRY_VERSION " - type 'help' for commands\n" SHELL_PROMPT);
}

void shell_poll(void)
{
	uint8_t byte;

	if (console_attach_active()) {
		console_attach_poll();   /* `console NAME`: the typing is the guest's */
		return;
	}
	for (int i = 0; i < BYTES_PER_POLL && !console_attach_active() && console_read_byte(&byte); i++) {
		enum line_result result = line_editor_feed(&editor, byte);

		console_set_input_pending(line_editor_busy(&editor));
		switch (result) {
		case LINE_READY:
			shell_execute(editor.line);
			if (!console_attach_active())   /* else the prompt returns on detach */
				console_puts(SHELL_PROMPT);
			break;
		case LINE_TOO_LONG:
			shell_error("line too long (at most %d characters); ignored", LINE_EDITOR_MAX);
			console_puts(SHELL_PROMPT);
			break;
		case LINE_CANCELLED:
			console_puts(SHELL_PROMPT);
			break;
		case LINE_PENDING:
			break;
		}
	}
}
