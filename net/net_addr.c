/* IPv4 endpoint text; see net_addr.h. */
#include "net/net_addr.h"
#include "kernel/lib/format.h"
#include "kernel/lib/parse.h"

#include <string.h>

#define PORT_MIN 1
#define PORT_MAX 65535

void net_format_ipv4(uint32_t addr, char *buf)
{
	fmt_snprintf(buf, NET_ADDR_TEXT_MAX, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
		     (addr >> 8) & 0xff, addr & 0xff);
}

bool net_parse_host_port(const char *s, uint16_t default_port, uint32_t *addr, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	size_t host_len = colon ? (size_t)(colon - s) : strlen(s);
	uint64_t p = default_port;
	uint32_t a;

	if (!parse_ipv4(s, host_len, &a))
		return false;
	if (colon && !parse_u64(colon + 1, PORT_MIN, PORT_MAX, &p))
		return false;
	*addr = a;
	*port = (uint16_t)p;
	return true;
}
