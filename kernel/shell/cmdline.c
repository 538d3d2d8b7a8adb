/* Command-line parsing; see cmdline.h for the contract. */
#include "kernel/shell/cmdline.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/parse.h"

#include <string.h>

int cmdline_split(char *line, int *argc, char *argv[CMDLINE_MAX_ARGS])
{
	char *read = line, *write = line;
	int n = 0;

	for (;;) {
		while (*read == ' ' || *read == '\t')
			read++;
		if (!*read)
			break;
		if (n == CMDLINE_MAX_ARGS)
			return FERR_TOOBIG;
		argv[n++] = write;
		bool quoted = false;
		while (*read && (quoted || (*read != ' ' && *read != '\t'))) {
			if (*read == '"')
				quoted = !quoted;
			else
				*write++ = *read;
			read++;
		}
		if (quoted)
			return FERR_INVAL;
		/* Terminate the word; read may equal write, so step read past it first. */
		bool end = !*read;
		if (!end)
			read++;
		*write++ = '\0';
		if (end)
			break;
	}
	*argc = n;
	return FERR_OK;
}

/* A word of the form key=value with a non-empty key. */
static bool is_option(const char *word)
{
	const char *eq = strchr(word, '=');

	return eq && eq != word;
}

static bool key_matches(const char *word, const char *key)
{
	size_t len = strlen(key);

	return strncmp(word, key, len) == 0 && word[len] == '=';
}

/* "unknown option 'WORD' (key1=, key2=)": the message names every key the command takes. */
static void unknown_option(const char *word, const struct cmdline_option *options, size_t count,
			   char err[CMDLINE_ERROR_MAX])
{
	size_t n = fmt_snprintf(err, CMDLINE_ERROR_MAX, "unknown option '%.32s' (", word);

	for (size_t i = 0; i < count && n < CMDLINE_ERROR_MAX; i++)
		n += fmt_snprintf(err + n, CMDLINE_ERROR_MAX - n, "%s%s=", i ? ", " : "",
				  options[i].key);
	if (n < CMDLINE_ERROR_MAX)
		fmt_snprintf(err + n, CMDLINE_ERROR_MAX - n, ")");
}

bool cmdline_parse_number(const char *name, const char *unit, const char *text, uint64_t min,
			  uint64_t max, uint64_t *out, char err[CMDLINE_ERROR_MAX])
{
	if (parse_u64(text, min, max, out))
		return true;
	fmt_snprintf(err, CMDLINE_ERROR_MAX, "%s must be a number%s%s from %llu to %llu", name,
		     unit ? " of " : "", unit ? unit : "", (unsigned long long)min,
		     (unsigned long long)max);
	return false;
}

#define MAC_MULTICAST_BIT 0x01   /* the I/G (group) bit of the first octet, IEEE 802 */

/* Converts one option's value into its target; false with the message in err. */
static bool convert(const struct cmdline_option *o, const char *value, char err[CMDLINE_ERROR_MAX])
{
	uint8_t mac[PARSE_MAC_BYTES];

	switch (o->kind) {
	case CMDLINE_U64:
		return cmdline_parse_number(o->key, o->unit, value, o->min, o->max, o->target, err);
	case CMDLINE_UNICAST_MAC:
		if (parse_mac(value, mac) && !(mac[0] & MAC_MULTICAST_BIT)) {
			memcpy(o->target, mac, sizeof(mac));
			return true;
		}
		fmt_snprintf(err, CMDLINE_ERROR_MAX,
			     "%s must be a unicast address like 52:54:00:12:34:56", o->key);
		return false;
	case CMDLINE_STRING:
		*(const char **)o->target = value;
		return true;
	case CMDLINE_YES_NO:
		if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
			*(bool *)o->target = value[0] == 'y';
			return true;
		}
		fmt_snprintf(err, CMDLINE_ERROR_MAX, "%s must be yes or no", o->key);
		return false;
	}
	return false;
}

/* The value of option key among argv[first..argc), or NULL; *seen counts its occurrences. */
static const char *option_value(int argc, char *const argv[], int first, const char *key,
				unsigned *seen)
{
	const char *value = NULL;

	*seen = 0;
	for (int i = first; i < argc; i++) {
		if (is_option(argv[i]) && key_matches(argv[i], key)) {
			value = argv[i] + strlen(key) + 1;
			(*seen)++;
		}
	}
	return value;
}

enum cmdline_result cmdline_parse_options(int argc, char *const argv[], int positionals,
					  const struct cmdline_option *options, size_t count,
					  char err[CMDLINE_ERROR_MAX])
{
	unsigned seen;
	int first = 0;

	while (first < argc && !is_option(argv[first]))
		first++;
	if (first != positionals)
		return CMDLINE_USAGE;
	for (int i = first; i < argc; i++) {
		size_t k = 0;
		while (k < count && !key_matches(argv[i], options[k].key))
			k++;
		if (!is_option(argv[i])) {
			fmt_snprintf(err, CMDLINE_ERROR_MAX,
				     "unexpected '%s' after the options (options are key=value)", argv[i]);
			return CMDLINE_INVALID;
		}
		if (k == count) {
			unknown_option(argv[i], options, count, err);
			return CMDLINE_INVALID;
		}
	}
	for (size_t k = 0; k < count; k++) {
		option_value(argc, argv, first, options[k].key, &seen);
		if (seen > 1) {
			fmt_snprintf(err, CMDLINE_ERROR_MAX, "an option is given twice");
			return CMDLINE_INVALID;
		}
	}
	for (size_t k = 0; k < count; k++) {
		const char *value = option_value(argc, argv, first, options[k].key, &seen);
		if (!value)
			continue;
		if (!convert(&options[k], value, err))
			return CMDLINE_INVALID;
		if (options[k].given)
			*options[k].given = true;
	}
	return CMDLINE_OK;
}
