/* Text to numbers and addresses; see parse.h for the contract. */
#include "kernel/lib/parse.h"

#include <string.h>

#define DECIMAL 10
#define HEX 16
#define IPV4_OCTETS 4
#define IPV4_OCTET_DIGITS 3
#define IPV4_OCTET_MAX 255
#define BITS_PER_HEX_DIGIT 4

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The span as digits of base, within [min, max]; at least one digit. */
static bool parse_digits(const char *s, size_t len, unsigned base, uint64_t min, uint64_t max,
			 uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		int d = digit_value(s[i]);
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

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return parse_digits(s + 2, strlen(s + 2), HEX, min, max, out);
	return parse_digits(s, strlen(s), DECIMAL, min, max, out);
}

bool parse_decimal(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_digits(s, len, DECIMAL, min, max, out);
}

bool parse_hex64(const char *s, uint64_t *out)
{
	size_t len = strlen(s);

	return len <= PARSE_HEX64_DIGITS && parse_digits(s, len, HEX, 0, UINT64_MAX, out);
}

bool parse_mac(const char *s, uint8_t mac[PARSE_MAC_BYTES])
{
	uint8_t bytes[PARSE_MAC_BYTES];

	for (int i = 0; i < PARSE_MAC_BYTES; i++) {
		int hi = digit_value(s[0]), lo = hi < 0 ? -1 : digit_value(s[1]);
		if (hi < 0 || lo < 0)
			return false;
		bytes[i] = (uint8_t)(hi << BITS_PER_HEX_DIGIT | lo);
		s += 2;
		if (i < PARSE_MAC_BYTES - 1 && *s++ != ':')
			return false;
	}
	if (*s != '\0')
		return false;
	memcpy(mac, bytes, sizeof(bytes));
	return true;
}

bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t addr = 0;
	size_t start = 0;

	for (int octet = 0; octet < IPV4_OCTETS; octet++) {
		size_t end = start;
		while (end < len && s[end] != '.')
			end++;
		if ((octet < IPV4_OCTETS - 1) != (end < len))
			return false;
		uint64_t v;
		if (end - start > IPV4_OCTET_DIGITS ||
		    !parse_decimal(s + start, end - start, 0, IPV4_OCTET_MAX, &v))
			return false;
		addr = addr << 8 | (uint32_t)v;
		start = end + 1;
	}
	*out = addr;
	return true;
}
