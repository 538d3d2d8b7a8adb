/* Command-line parsing; see cmdline.h for the contract. */
#include "kernel/shell/cmdline.h"
#include "kernel/lib/errors.h"

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

bool cmdline_is_option(const char *word)
{
	const char *eq = strchr(word, '=');

	return eq && eq != word;
}

int cmdline_positional_count(int argc, char *const argv[])
{
	int n = 0;

	while (n < argc && !cmdline_is_option(argv[n]))
		n++;
	return n;
}

static bool key_matches(const char *word, const char *key)
{
	size_t len = strlen(key);

	return strncmp(word, key, len) == 0 && word[len] == '=';
}

const char *cmdline_option(int argc, char *const argv[], const char *key, bool *dup)
{
	const char *found = NULL;

	for (int i = 0; i < argc; i++) {
		if (!cmdline_is_option(argv[i]) || !key_matches(argv[i], key))
			continue;
		if (found && dup)
			*dup = true;
		found = argv[i] + strlen(key) + 1;
	}
	return found;
}

const char *cmdline_unknown_option(int argc, char *const argv[], const char *const known[])
{
	for (int i = 0; i < argc; i++) {
		if (!cmdline_is_option(argv[i]))
			continue;
		bool ok = false;
		for (int k = 0; known && known[k]; k++)
			ok = ok || key_matches(argv[i], known[k]);
		if (!ok)
			return argv[i];
	}
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool cmdline_parse_hex64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		int d = hex_value(s[n]);
		if (d < 0 || n == CMDLINE_HEX64_DIGITS)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (n == 0)
		return false;
	*out = v;
	return true;
}

bool cmdline_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = hex_value(*s);
		if (d < 0 || (unsigned)d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool cmdline_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex_value(s[0]), lo = hi < 0 ? -1 : hex_value(s[1]);
		if (hi < 0 || lo < 0)
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == '\0';
}
