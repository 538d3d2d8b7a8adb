/*
 * Ferry's virtual switch: the one place where Ethernet frames that are not for
 * Ferry's own stack go. Guests' virtual NICs attach here as ports, each with its
 * MAC; the physical NIC is the uplink; Ferry's own stack (lwIP) is the host.
 *
 * A small learning switch. Portable (image and host; tests/unit/test_vswitch.c).
 *   - Each port is pinned to its MAC: a unicast MAC that is not zero, not the host's,
 *     not a reserved one (the gateway's, once net/ knows it: vswitch_reserve) and not
 *     another port's. A frame a port sends with any other source MAC is dropped and
 *     counted, so a guest can neither capture another's traffic nor the gateway's.
 *   - An attached port's MAC is a permanent entry; source MACs seen on the uplink are
 *     learned, and forgotten after VSWITCH_AGE_MS without traffic.
 *   - From the uplink: a unicast frame goes to the port that owns its destination
 *     (unknown destinations are dropped, never flooded to guests: the NIC is
 *     promiscuous, so the uplink carries other hosts' traffic); broadcast and
 *     multicast go to every port (the caller gives them to the host stack itself).
 *   - From a port: to the host when addressed to the host's MAC; to the port that
 *     owns a known unicast destination; otherwise out of the uplink; broadcast and
 *     multicast to every other port, the host and the uplink.
 *   - From the host (Ferry's own stack sending): to the port that owns the unicast
 *     destination instead of the uplink; broadcast and multicast to every port as well
 *     as the uplink. A reply may reach a port while that port's own frame is still
 *     being sent: a port's deliver function must allow that.
 *   - users_changed(true) when the first port attaches, (false) when the last
 *     detaches: the NIC receives in promiscuous mode only while guests are attached.
 * Nothing here allocates: ports and the table are fixed arrays.
 */
#ifndef FERRY_NET_VSWITCH_H
#define FERRY_NET_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSWITCH_MAX_PORTS 8
#define VSWITCH_FDB_SIZE  64
#define VSWITCH_AGE_MS    300000u
#define VSWITCH_UPLINK    (-1)
#define VSWITCH_UNKNOWN   (-2)
#define VSWITCH_HOST      (-3)

#define VSWITCH_RESERVED_MAX 4

typedef void (*vswitch_deliver_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Why the switch dropped a frame a port sent. */
enum vswitch_drop {
	VSWITCH_DROP_SPOOFED,   /* its source MAC is not the port's */
	VSWITCH_DROP_RUNT,      /* shorter than an Ethernet header */
	VSWITCH_DROP_TO_SELF,   /* addressed to the port's own MAC */
	VSWITCH_DROP_COUNT
};

/* "in" is from the guest into the switch, "out" from the switch to the guest. */
struct vswitch_port {
	bool used;
	uint8_t mac[6];
	vswitch_deliver_fn deliver;
	void *ctx;
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out;
	uint64_t drops[VSWITCH_DROP_COUNT];
};

struct vswitch_fdb_entry {
	bool used;
	uint8_t mac[6];
	int port;             /* a port index or VSWITCH_UPLINK */
	uint64_t seen_ms;
};

struct vswitch {
	struct vswitch_port ports[VSWITCH_MAX_PORTS];
	struct vswitch_fdb_entry fdb[VSWITCH_FDB_SIZE];
	unsigned port_count;
	uint8_t host_mac[6];
	uint8_t reserved[VSWITCH_RESERVED_MAX][6];   /* MACs no port may take */
	unsigned reserved_count;
	vswitch_deliver_fn uplink;     /* out of the physical NIC */
	void *uplink_ctx;
	vswitch_deliver_fn host;       /* into Ferry's own stack */
	void *host_ctx;
	void (*users_changed)(void *ctx, bool has_users);
	void *users_ctx;
	uint64_t forwarded, flooded, dropped;
};

void vswitch_init(struct vswitch *sw, const uint8_t host_mac[6],
		  vswitch_deliver_fn uplink, void *uplink_ctx,
		  vswitch_deliver_fn host, void *host_ctx,
		  void (*users_changed)(void *ctx, bool has_users), void *users_ctx);

/*
 * Attaches a port owning unicast `mac`; returns its index (>= 0), FERR_INVAL for
 * a multicast or zero MAC, the host's or a reserved one, FERR_EXIST when another port
 * owns it, FERR_NOMEM when all ports are taken. vswitch_mac_refusal() says why.
 */
int vswitch_attach(struct vswitch *sw, const uint8_t mac[6], vswitch_deliver_fn deliver, void *ctx);
/* Why `mac` cannot be a port's ("a multicast MAC", "another guest's MAC"...), or NULL. */
const char *vswitch_mac_refusal(const struct vswitch *sw, const uint8_t mac[6]);
/*
 * Keeps `mac` from ever being a port's (the gateway's, once known). 0 (also when it
 * already was), FERR_INVAL for a multicast or zero MAC, FERR_EXIST when a port owns it
 * now, FERR_NOMEM when VSWITCH_RESERVED_MAX are reserved.
 */
int vswitch_reserve(struct vswitch *sw, const uint8_t mac[6]);
/* Detaches a port and forgets everything learned on it; FERR_NOENT if not attached. */
int vswitch_detach(struct vswitch *sw, int port);
/* True while any port is attached. */
bool vswitch_has_users(const struct vswitch *sw);

/* A frame from the physical NIC that is not only for the host (see above). */
void vswitch_from_uplink(struct vswitch *sw, const uint8_t *frame, size_t len, uint64_t now_ms);
/* A frame a guest's virtual NIC sends. */
void vswitch_from_port(struct vswitch *sw, int port, const uint8_t *frame, size_t len,
		       uint64_t now_ms);
/* A frame Ferry's own stack sends: true when a port took it and the uplink must not
 * (unicast to a port's MAC); false when the caller sends it out of the NIC. */
bool vswitch_from_host(struct vswitch *sw, const uint8_t *frame, size_t len);

/* Where frames to `mac` go now: a port index, VSWITCH_UPLINK or VSWITCH_UNKNOWN. */
int vswitch_lookup(struct vswitch *sw, const uint8_t mac[6], uint64_t now_ms);

/* An attached port (its MAC and counters), or NULL. */
const struct vswitch_port *vswitch_port(const struct vswitch *sw, int port);
/* Stable short names of the drop causes: "spoofed", "runt", "to_self". */
const char *vswitch_drop_name(enum vswitch_drop cause);

/* The switch's table, for `net`: each attached port's MAC (pinned), then each MAC
 * learned on the uplink and not aged out, with how long ago it was last seen. */
struct vswitch_row {
	uint8_t mac[6];
	int where;            /* a port index or VSWITCH_UPLINK */
	bool pinned;          /* a port's own MAC: permanent */
	uint64_t age_ms;      /* since last seen (0 for pinned rows) */
};
#define VSWITCH_TABLE_MAX (VSWITCH_MAX_PORTS + VSWITCH_FDB_SIZE)
/* Writes up to `max` rows; returns how many. */
size_t vswitch_table(const struct vswitch *sw, uint64_t now_ms, struct vswitch_row *rows, size_t max);

/* Ethernet address helpers. */
bool eth_is_multicast(const uint8_t mac[6]);   /* broadcast included */
bool eth_mac_equal(const uint8_t a[6], const uint8_t b[6]);

#endif
