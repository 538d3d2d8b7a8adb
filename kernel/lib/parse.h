/*
 * Text to numbers and addresses, portable (image and host): the one home of the
 * parsers that the shell's arguments, ferry.cfg and the network's endpoints share.
 *
 * Every parser reads the whole text it is given (a NUL-terminated string, or a span
 * of len bytes where it says so): trailing or leading garbage, signs and spaces are
 * refused. On failure it returns false and stores nothing; on success it stores the
 * value and returns true. Numbers never wrap: a value past 64 bits is refused.
 */
#ifndef FERRY_LIB_PARSE_H
#define FERRY_LIB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal, or hex with a 0x/0X prefix, within [min, max]. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The span s[0..len) as decimal digits only, within [min, max]. */
bool parse_decimal(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out);

/* 1 to PARSE_HEX64_DIGITS hex digits without a prefix (a migration id as `migrations` prints it). */
#define PARSE_HEX64_DIGITS 16
bool parse_hex64(const char *s, uint64_t *out);

/* A MAC address aa:bb:cc:dd:ee:ff (two hex digits a byte, either case). */
#define PARSE_MAC_BYTES 6
bool parse_mac(const char *s, uint8_t mac[PARSE_MAC_BYTES]);

/* The span s[0..len) as a dotted IPv4 address A.B.C.D (each 0-255, at most 3 digits), in host byte order. */
bool parse_ipv4(const char *s, size_t len, uint32_t *out);

#endif
