/*
 * Command-line parsing for the shell, portable (image and host).
 *
 * cmdline_split() cuts a line into words in place: words are separated by spaces
 * or tabs; a word may be quoted with double quotes to hold spaces. It fails with
 * FERR_INVAL on an unterminated quote and FERR_TOOBIG past CMDLINE_MAX_ARGS words.
 *
 * Commands take positional arguments followed by `key=value` options
 * (`create web counter memory=32 mac=52:54:00:12:34:56`). A command declares its
 * options as a table of struct cmdline_option (key, kind, range, where the value
 * goes); cmdline_parse_options() checks the table against the words and writes the
 * message a command shows, so that every command reports bad options alike:
 *
 *   unknown option 'KEY=VALUE' (key1=, key2=)      a key the table does not name
 *   an option is given twice
 *   KEY must be a number[ of UNIT] from MIN to MAX  CMDLINE_U64 (and cmdline_parse_number)
 *   KEY must be a unicast address like 52:54:00:12:34:56
 *   KEY must be yes or no
 *
 * The numbers, MAC and address parsers themselves are kernel/lib/parse.h.
 */
#ifndef FERRY_CMDLINE_H
#define FERRY_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_ARGS 16

/* Splits line (modified in place); on success sets *argc and returns 0. */
int cmdline_split(char *line, int *argc, char *argv[CMDLINE_MAX_ARGS]);

enum cmdline_kind {
	CMDLINE_U64,          /* target uint64_t: decimal or 0x hex within [min, max] */
	CMDLINE_UNICAST_MAC,  /* target uint8_t[6]: aa:bb:cc:dd:ee:ff, the multicast bit clear */
	CMDLINE_STRING,       /* target const char *: the text after '=', within argv */
	CMDLINE_YES_NO,       /* target bool: `yes` or `no` */
};

/* One key=value option a command takes. */
struct cmdline_option {
	const char *key;
	enum cmdline_kind kind;
	const char *unit;     /* CMDLINE_U64: named in the range error ("MiB"); NULL for none */
	uint64_t min, max;    /* CMDLINE_U64: the accepted range */
	void *target;         /* where the value goes; untouched when the option is absent */
	bool *given;          /* set true when the option is present; may be NULL */
};

enum cmdline_result {
	CMDLINE_OK,
	CMDLINE_USAGE,    /* the positional count is wrong: the caller shows its usage line */
	CMDLINE_INVALID,  /* err holds the message */
};

#define CMDLINE_ERROR_MAX 256

/*
 * Parses the options of argv. positionals is how many words (the command's name
 * included) must come before the first option; any other count is CMDLINE_USAGE.
 * Then, in this order: the first word after the first option that is not key=value
 * or is an option of no key in options, a key given twice, and the first value (in
 * table order) that is malformed or out of range are CMDLINE_INVALID with the message
 * in err. On CMDLINE_OK every given option's value is in its target; on an error,
 * targets may hold some of the values.
 */
enum cmdline_result cmdline_parse_options(int argc, char *const argv[], int positionals,
					  const struct cmdline_option *options, size_t count,
					  char err[CMDLINE_ERROR_MAX]);

/*
 * A numeric argument (a positional one, or an option's value): text within
 * [min, max] into *out; on failure, false and "NAME must be a number[ of UNIT]
 * from MIN to MAX" in err (unit may be NULL).
 */
bool cmdline_parse_number(const char *name, const char *unit, const char *text, uint64_t min,
			  uint64_t max, uint64_t *out, char err[CMDLINE_ERROR_MAX]);

#endif
