/* Ferry's learning switch; see vswitch.h. */
#include "net/vswitch.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define ETH_DST 0
#define ETH_SRC 6
#define ETH_HEADER 14
#define ETH_MULTICAST_BIT 0x01   /* I/G bit of the first octet */

bool eth_is_multicast(const uint8_t mac[6])
{
	return mac[0] & ETH_MULTICAST_BIT;
}

bool eth_mac_equal(const uint8_t a[6], const uint8_t b[6])
{
	return memcmp(a, b, 6) == 0;
}

static bool is_zero(const uint8_t mac[6])
{
	static const uint8_t zero[6];
	return eth_mac_equal(mac, zero);
}

void vswitch_init(struct vswitch *sw, const uint8_t host_mac[6],
		  vswitch_deliver_fn uplink, void *uplink_ctx,
		  vswitch_deliver_fn host, void *host_ctx,
		  void (*users_changed)(void *ctx, bool has_users), void *users_ctx)
{
	memset(sw, 0, sizeof(*sw));
	memcpy(sw->host_mac, host_mac, 6);
	sw->uplink = uplink;
	sw->uplink_ctx = uplink_ctx;
	sw->host = host;
	sw->host_ctx = host_ctx;
	sw->users_changed = users_changed;
	sw->users_ctx = users_ctx;
}

static int port_owning(const struct vswitch *sw, const uint8_t mac[6])
{
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
		if (sw->ports[i].used && eth_mac_equal(sw->ports[i].mac, mac))
			return i;
	return VSWITCH_UNKNOWN;
}

static bool is_reserved(const struct vswitch *sw, const uint8_t mac[6])
{
	for (unsigned i = 0; i < sw->reserved_count; i++)
		if (eth_mac_equal(sw->reserved[i], mac))
			return true;
	return false;
}

/* A MAC no port may ever have: the reason, or NULL. */
static const char *never_a_port(const struct vswitch *sw, const uint8_t mac[6])
{
	if (eth_is_multicast(mac))
		return "a multicast MAC";
	if (is_zero(mac))
		return "the zero MAC";
	if (eth_mac_equal(mac, sw->host_mac))
		return "Ferry's own MAC";
	if (is_reserved(sw, mac))
		return "a reserved MAC (the gateway's)";
	return NULL;
}

const char *vswitch_mac_refusal(const struct vswitch *sw, const uint8_t mac[6])
{
	const char *why = never_a_port(sw, mac);
	if (!why && port_owning(sw, mac) != VSWITCH_UNKNOWN)
		why = "another guest's MAC";
	return why;
}

int vswitch_reserve(struct vswitch *sw, const uint8_t mac[6])
{
	if (eth_is_multicast(mac) || is_zero(mac))
		return FERR_INVAL;
	if (is_reserved(sw, mac))
		return FERR_OK;
	if (port_owning(sw, mac) != VSWITCH_UNKNOWN)
		return FERR_EXIST;
	if (sw->reserved_count == VSWITCH_RESERVED_MAX)
		return FERR_NOMEM;
	memcpy(sw->reserved[sw->reserved_count++], mac, 6);
	return FERR_OK;
}

int vswitch_attach(struct vswitch *sw, const uint8_t mac[6], vswitch_deliver_fn deliver, void *ctx)
{
	if (never_a_port(sw, mac) || !deliver)
		return FERR_INVAL;
	if (port_owning(sw, mac) != VSWITCH_UNKNOWN)
		return FERR_EXIST;
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++) {
		struct vswitch_port *p = &sw->ports[i];
		if (p->used)
			continue;
		memset(p, 0, sizeof(*p));
		p->used = true;
		memcpy(p->mac, mac, 6);
		p->deliver = deliver;
		p->ctx = ctx;
		/* A MAC that moved here from the uplink (a migrated guest) is ours now. */
		for (unsigned e = 0; e < VSWITCH_FDB_SIZE; e++)
			if (sw->fdb[e].used && eth_mac_equal(sw->fdb[e].mac, mac))
				sw->fdb[e].used = false;
		if (sw->port_count++ == 0 && sw->users_changed)
			sw->users_changed(sw->users_ctx, true);
		return i;
	}
	return FERR_NOMEM;
}

int vswitch_detach(struct vswitch *sw, int port)
{
	if (port < 0 || port >= VSWITCH_MAX_PORTS || !sw->ports[port].used)
		return FERR_NOENT;
	sw->ports[port].used = false;
	for (unsigned e = 0; e < VSWITCH_FDB_SIZE; e++)
		if (sw->fdb[e].used && sw->fdb[e].port == port)
			sw->fdb[e].used = false;
	if (--sw->port_count == 0 && sw->users_changed)
		sw->users_changed(sw->users_ctx, false);
	return FERR_OK;
}

bool vswitch_has_users(const struct vswitch *sw)
{
	return sw->port_count > 0;
}

static struct vswitch_fdb_entry *fdb_find(struct vswitch *sw, const uint8_t mac[6], uint64_t now_ms)
{
	for (unsigned e = 0; e < VSWITCH_FDB_SIZE; e++) {
		struct vswitch_fdb_entry *entry = &sw->fdb[e];
		if (!entry->used || !eth_mac_equal(entry->mac, mac))
			continue;
		if (now_ms - entry->seen_ms > VSWITCH_AGE_MS) {
			entry->used = false;
			return NULL;
		}
		return entry;
	}
	return NULL;
}

/* Records that `mac` was seen behind `port`; replaces a free, aged or else the oldest entry. */
static void learn(struct vswitch *sw, const uint8_t mac[6], int port, uint64_t now_ms)
{
	if (eth_is_multicast(mac) || is_zero(mac) || eth_mac_equal(mac, sw->host_mac))
		return;
	if (port_owning(sw, mac) != VSWITCH_UNKNOWN)
		return;   /* an attached port's own MAC is permanent */
	struct vswitch_fdb_entry *entry = fdb_find(sw, mac, now_ms);
	if (!entry) {
		entry = &sw->fdb[0];
		for (unsigned e = 0; e < VSWITCH_FDB_SIZE; e++) {
			struct vswitch_fdb_entry *c = &sw->fdb[e];
			if (!c->used || now_ms - c->seen_ms > VSWITCH_AGE_MS) {
				entry = c;
				break;
			}
			if (c->seen_ms < entry->seen_ms)
				entry = c;
		}
		entry->used = true;
		memcpy(entry->mac, mac, 6);
	}
	entry->port = port;
	entry->seen_ms = now_ms;
}

int vswitch_lookup(struct vswitch *sw, const uint8_t mac[6], uint64_t now_ms)
{
	int port = port_owning(sw, mac);
	if (port != VSWITCH_UNKNOWN)
		return port;
	struct vswitch_fdb_entry *entry = fdb_find(sw, mac, now_ms);
	return entry ? entry->port : VSWITCH_UNKNOWN;
}

const struct vswitch_port *vswitch_port(const struct vswitch *sw, int port)
{
	return port >= 0 && port < VSWITCH_MAX_PORTS && sw->ports[port].used ? &sw->ports[port] : NULL;
}

const char *vswitch_drop_name(enum vswitch_drop cause)
{
	switch (cause) {
	case VSWITCH_DROP_SPOOFED: return "spoofed";
	case VSWITCH_DROP_RUNT:    return "runt";
	case VSWITCH_DROP_TO_SELF: return "to_self";
	default:                   return "unknown";
	}
}

size_t vswitch_table(const struct vswitch *sw, uint64_t now_ms, struct vswitch_row *rows, size_t max)
{
	size_t n = 0;

	for (int i = 0; i < VSWITCH_MAX_PORTS && n < max; i++) {
		if (!sw->ports[i].used)
			continue;
		rows[n] = (struct vswitch_row){ .where = i, .pinned = true };
		memcpy(rows[n++].mac, sw->ports[i].mac, 6);
	}
	for (unsigned e = 0; e < VSWITCH_FDB_SIZE && n < max; e++) {
		const struct vswitch_fdb_entry *entry = &sw->fdb[e];
		if (!entry->used || now_ms - entry->seen_ms > VSWITCH_AGE_MS)
			continue;
		rows[n] = (struct vswitch_row){ .where = entry->port, .age_ms = now_ms - entry->seen_ms };
		memcpy(rows[n++].mac, entry->mac, 6);
	}
	return n;
}

static void to_port(struct vswitch *sw, int port, const uint8_t *frame, size_t len)
{
	struct vswitch_port *p = &sw->ports[port];
	p->frames_out++;
	p->bytes_out += len;
	p->deliver(p->ctx, frame, len);
}

/* Every port but `except` (-1 for none). */
static void flood_ports(struct vswitch *sw, int except, const uint8_t *frame, size_t len)
{
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++)
		if (sw->ports[i].used && i != except)
			to_port(sw, i, frame, len);
}

void vswitch_from_uplink(struct vswitch *sw, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	if (len < ETH_HEADER)
		return;
	const uint8_t *dst = frame + ETH_DST;
	learn(sw, frame + ETH_SRC, VSWITCH_UPLINK, now_ms);
	if (eth_is_multicast(dst)) {
		sw->flooded++;
		flood_ports(sw, -1, frame, len);
		return;
	}
	int port = vswitch_lookup(sw, dst, now_ms);
	if (port >= 0) {
		sw->forwarded++;
		to_port(sw, port, frame, len);
	} else {
		sw->dropped++;
	}
}

/* Drops a frame a port sent, counted by cause. */
static void port_drop(struct vswitch *sw, struct vswitch_port *p, enum vswitch_drop cause)
{
	p->drops[cause]++;
	sw->dropped++;
}

void vswitch_from_port(struct vswitch *sw, int port, const uint8_t *frame, size_t len,
		       uint64_t now_ms)
{
	if (port < 0 || port >= VSWITCH_MAX_PORTS || !sw->ports[port].used) {
		sw->dropped++;
		return;
	}
	struct vswitch_port *p = &sw->ports[port];
	if (len < ETH_HEADER) {
		port_drop(sw, p, VSWITCH_DROP_RUNT);
		return;
	}
	/* Pinned: a port speaks only with its own MAC, so nothing is learned from it. */
	if (!eth_mac_equal(frame + ETH_SRC, p->mac)) {
		port_drop(sw, p, VSWITCH_DROP_SPOOFED);
		return;
	}
	p->frames_in++;
	p->bytes_in += len;
	const uint8_t *dst = frame + ETH_DST;
	if (eth_is_multicast(dst)) {
		sw->flooded++;
		flood_ports(sw, port, frame, len);
		if (sw->host)
			sw->host(sw->host_ctx, frame, len);
		if (sw->uplink)
			sw->uplink(sw->uplink_ctx, frame, len);
		return;
	}
	if (eth_mac_equal(dst, sw->host_mac)) {
		sw->forwarded++;
		if (sw->host)
			sw->host(sw->host_ctx, frame, len);
		return;
	}
	int target = vswitch_lookup(sw, dst, now_ms);
	if (target == port) {
		port_drop(sw, p, VSWITCH_DROP_TO_SELF);
		return;
	}
	sw->forwarded++;
	if (target >= 0)
		to_port(sw, target, frame, len);
	else if (sw->uplink)
		sw->uplink(sw->uplink_ctx, frame, len);
}

bool vswitch_from_host(struct vswitch *sw, const uint8_t *frame, size_t len)
{
	if (len < ETH_HEADER || !sw->port_count)
		return false;
	const uint8_t *dst = frame + ETH_DST;
	if (eth_is_multicast(dst)) {
		sw->flooded++;
		flood_ports(sw, -1, frame, len);
		return false;
	}
	int port = port_owning(sw, dst);
	if (port < 0)
		return false;
	sw->forwarded++;
	to_port(sw, port, frame, len);
	return true;
}
