/*
 * Ferry's network: lwIP on top of the NIC that bring-up found and started
 * (drivers/nic.h; this layer knows no PCI and no driver), and the virtual switch,
 * brought up once at boot and run by a background poller (so it keeps running
 * while a command waits in poll_until() and between guest exits). Image only.
 *
 * Frames the NIC receives go to lwIP when addressed to Ferry's MAC or broadcast
 * or multicast. The virtual switch (net/vswitch.h) is on the receive path only
 * while a guest's port is attached: then it also gets every frame not addressed
 * to Ferry's MAC (the NIC is promiscuous meanwhile). IPv4 settings come from
 * ferry.cfg (`address`, `gateway`) or DHCP. Without a NIC everything here reports
 * "down" (net_up() false, sends fail with FERR_NOTSUP).
 */
#ifndef FERRY_NET_NET_H
#define FERRY_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/nic.h"
#include "net/net_addr.h"
#include "net/vswitch.h"

/*
 * Called once from kernel_main after the configuration is loaded, with the NIC
 * its driver started, or NULL when there is none (networking stays off). Takes
 * the NIC's receive callback.
 */
void net_init(struct nic *started_nic);

/* True when the NIC's link is up and the host has an IPv4 address. */
bool net_up(void);
/* True when a NIC was found and started (whatever its link). */
bool net_has_nic(void);

/*
 * Sends an Ethernet frame (NIC_MIN_FRAME to NIC_MAX_FRAME bytes, no FCS) out of
 * the NIC exactly as given; migration uses it for RARP announcements.
 * FERR_NOTSUP without a NIC, FERR_INVAL for a bad length, FERR_BUSY when the
 * send ring is full.
 */
int net_send_raw_frame(const void *frame, size_t len);

void net_mac(uint8_t out[6]);
/* IPv4 address, netmask and gateway in host byte order; 0 when unset. */
uint32_t net_address(void);
uint32_t net_netmask(void);
uint32_t net_gateway(void);
bool net_dhcp(void);

/* The NIC's counters plus frames the stack could not take (no memory). */
struct net_counters {
	struct nic_stats nic;
	uint64_t stack_dropped;
	bool link_up;
	unsigned speed_mbps;
	bool promiscuous;
};
void net_get_counters(struct net_counters *out);

/*
 * Guests' virtual NICs: attach a port to the virtual switch (see vswitch.h for
 * the forwarding rules) and send frames from it. The NIC turns promiscuous
 * while any port is attached.
 */
int net_port_attach(const uint8_t mac[6], vswitch_deliver_fn deliver, void *ctx);
int net_port_detach(int port);
/* FERR_BUSY when a unicast frame for the wire found the NIC's send ring full, or down to
 * the slots kept for Ferry's own stack: the port may offer it again later (the guest is
 * flow-controlled); otherwise 0. */
int net_port_send(int port, const void *frame, size_t len);
/* The switch itself, for inspection (`net` prints its counters). */
const struct vswitch *net_vswitch(void);

#endif
