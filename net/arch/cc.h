/*
 * lwIP's compiler and platform port for Ferry's freestanding image (lwIP's
 * "arch/cc.h"). Ferry has no C library: the integer formats, byte order and
 * diagnostics are given here, assertions are Ferry panics (an lwIP assertion is
 * a broken invariant of the stack, not a peer's fault), and randomness comes from
 * net/lwip_port.c.
 */
#ifndef FERRY_LWIP_ARCH_CC_H
#define FERRY_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

/* No <inttypes.h>, <ctype.h>, <limits.h> or <unistd.h> in a freestanding build. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_LIMITS_H   1
#define LWIP_NO_UNISTD_H   1

#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#ifndef INT_MAX
#define INT_MAX 2147483647
#endif

#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) ((uint16_t)__builtin_bswap16(x))
#define lwip_htonl(x) ((uint32_t)__builtin_bswap32(x))

void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void lwip_port_assert(const char *msg, const char *file, int line);
uint32_t lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND() lwip_port_rand()

#endif
