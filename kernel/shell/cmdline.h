/*
 * Command-line parsing for the shell, portable (image and host).
 *
 * cmdline_split() cuts a line into words in place: words are separated by spaces
 * or tabs; a word may be quoted with double quotes to hold spaces. It fails with
 * FERR_INVAL on an unterminated quote and FERR_TOOBIG past CMDLINE_MAX_ARGS words.
 *
 * Commands take positional arguments followed by `key=value` options
 * (`create web counter memory=32 mac=52:54:00:12:34:56`); the helpers below
 * find and convert them with range checks, so every command reports bad values
 * the same way.
 */
#ifndef FERRY_CMDLINE_H
#define FERRY_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_MAX_ARGS 16

/* Splits line (modified in place); on success sets *argc and returns 0. */
int cmdline_split(char *line, int *argc, char *argv[CMDLINE_MAX_ARGS]);

/* A word of the form key=value with a non-empty key. */
bool cmdline_is_option(const char *word);

/* Positional words before the first option. */
int cmdline_positional_count(int argc, char *const argv[]);

/*
 * Looks up option `key` among argv; returns its value or NULL when absent.
 * A key given twice is an error: *dup is set to true.
 */
const char *cmdline_option(int argc, char *const argv[], const char *key, bool *dup);

/* The first option whose key is not in the NULL-terminated list, or NULL. */
const char *cmdline_unknown_option(int argc, char *const argv[], const char *const known[]);

/* Decimal (or 0x hex) unsigned number within [min, max]; whole string must match. */
bool cmdline_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* 1 to 16 hex digits without a prefix (a migration id as `migrations` prints it). */
#define CMDLINE_HEX64_DIGITS 16
bool cmdline_parse_hex64(const char *s, uint64_t *out);

/* A MAC address aa:bb:cc:dd:ee:ff (hex digits, either case). */
bool cmdline_parse_mac(const char *s, uint8_t mac[6]);

#endif
