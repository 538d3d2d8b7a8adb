/* Which MAC addresses a guest may have here; see guest_mac.h. */
#include "kernel/vm/guest_mac.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"

#include <stdbool.h>
#include <string.h>

static bool all_zero(const uint8_t mac[GUEST_MAC_BYTES])
{
	for (unsigned i = 0; i < GUEST_MAC_BYTES; i++)
		if (mac[i])
			return false;
	return true;
}

static int refuse(const uint8_t m[GUEST_MAC_BYTES], const char *reason, char why[GUEST_MAC_WHY_MAX])
{
	fmt_snprintf(why, GUEST_MAC_WHY_MAX, "mac %02x:%02x:%02x:%02x:%02x:%02x %s", m[0], m[1], m[2],
		     m[3], m[4], m[5], reason);
	return FERR_INVAL;
}

int guest_mac_check(const uint8_t mac[GUEST_MAC_BYTES], const uint8_t host_mac[GUEST_MAC_BYTES],
		    const uint8_t (*in_use)[GUEST_MAC_BYTES], size_t in_use_count,
		    char why[GUEST_MAC_WHY_MAX])
{
	if (mac[0] & GUEST_MAC_GROUP_BIT)
		return refuse(mac, "is a multicast address", why);
	if (all_zero(mac))
		return refuse(mac, "is the zero address", why);
	if (!all_zero(host_mac) && memcmp(mac, host_mac, GUEST_MAC_BYTES) == 0)
		return refuse(mac, "is this host's own", why);
	for (size_t i = 0; i < in_use_count; i++)
		if (memcmp(mac, in_use[i], GUEST_MAC_BYTES) == 0)
			return refuse(mac, "is in use by another guest here", why);
	return FERR_OK;
}
