/* Ferry's network bring-up, netif glue and poller; see net.h. */
#include "kernel/memory.h"      /* before lwIP's headers: see the mem_free note in lwipopts.h */
#include "net/net.h"
#include "net/lwip_port.h"
#include "net/net_addr.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"
#include "kernel/host.h"
#include "kernel/log.h"
#include "kernel/poll.h"

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"

#include <string.h>

/*
 * Receiving: frames are taken off the ring in batches until the ring is empty or the
 * turn's time budget (kernel/poll.h) is spent, so the console stays live and a busy
 * link is drained however many frames wait. Traffic of at least RX_BUSY_FRAMES in
 * a window of RX_BUSY_WINDOW_MS is heavy: the poller reports it, and guest slices
 * shrink so that the next turn comes soon.
 */
#define RX_BATCH           16
#define RX_BUSY_WINDOW_MS  100
#define RX_BUSY_FRAMES     50     /* 500 frames a second: about 0.7 MB/s of full frames */
#define LINK_CHECK_MS      250
/* Guests' frames fill the NIC's send ring down to this many free slots, no further: the
 * rest is for Ferry's own stack (its answers, a migration's stream), however hard a guest
 * floods (docs/virtio-net.md, "A guest that floods its transmit queue"). */
#define UPLINK_HOST_RESERVE 32
#define NETIF_MTU          1500

static struct nic *nic;
static struct netif netif;
static struct vswitch vswitch;
static bool started;
static bool promiscuous;
static uint64_t stack_dropped;
static uint64_t link_checked_ms;
static uint64_t rx_window_start_ms;
static unsigned rx_window_frames;
static bool rx_heavy;             /* the last window's traffic was heavy */
static uint8_t tx_frame[NIC_MAX_FRAME];

/* ---- lwIP -> NIC ----------------------------------------------------------------------- */
static err_t linkoutput(struct netif *n, struct pbuf *p)
{
	(void)n;
	if (p->tot_len > NIC_MAX_FRAME)
		return ERR_BUF;
	const void *frame = p->payload;
	if (p->len != p->tot_len) {
		pbuf_copy_partial(p, tx_frame, p->tot_len, 0);
		frame = tx_frame;
	}
	/* To a guest on this host (unicast to its port), not the wire; broadcasts to both. */
	if (vswitch_has_users(&vswitch) && vswitch_from_host(&vswitch, frame, p->tot_len))
		return ERR_OK;
	int err = nic->send(nic, frame, p->tot_len);
	return err == FERR_OK ? ERR_OK : err == FERR_BUSY ? ERR_MEM : ERR_IF;
}

static err_t netif_setup(struct netif *n)
{
	n->name[0] = 'e';
	n->name[1] = '0';
	n->output = etharp_output;
	n->linkoutput = linkoutput;
	n->mtu = NETIF_MTU;
	n->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(n->hwaddr, nic->mac, ETH_HWADDR_LEN);
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

/* ---- NIC -> lwIP and the switch ---------------------------------------------------------- */
static void to_stack(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (!p) {
		stack_dropped++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (netif.input(p, &netif) != ERR_OK) {
		pbuf_free(p);
		stack_dropped++;
	}
}

/*
 * The switch is on the receive path only while a port is attached. Before that
 * the NIC is not promiscuous, so its address filter passes only Ferry's MAC,
 * broadcast and multicast: all for the stack.
 */
static void nic_rx(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	const uint8_t *dst = frame;
	bool for_host = eth_mac_equal(dst, nic->mac);
	if (for_host || eth_is_multicast(dst))
		to_stack(NULL, frame, len);
	if (!for_host && vswitch_has_users(&vswitch))
		vswitch_from_uplink(&vswitch, frame, len, clock_ms());
}

static bool uplink_busy;   /* the NIC's send ring was full for the frame just switched */

/* A guest's frame for the wire (Ferry's own go to the NIC from linkoutput). */
static void to_uplink(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (nic->tx_free(nic) <= UPLINK_HOST_RESERVE || nic->send(nic, frame, len) == FERR_BUSY)
		uplink_busy = true;
}

static void switch_users_changed(void *ctx, bool has_users)
{
	(void)ctx;
	promiscuous = has_users;
	nic->set_promiscuous(nic, has_users);
}

/* ---- the poller ------------------------------------------------------------------------- */
static void check_link(void)
{
	bool link = nic->link_up(nic);
	if (link && !netif_is_link_up(&netif))
		netif_set_link_up(&netif);
	else if (!link && netif_is_link_up(&netif))
		netif_set_link_down(&netif);
}

/*
 * The gateway's MAC is no guest's: once lwIP has resolved it, the switch reserves it, so
 * no port can take it and capture the traffic meant for the gateway.
 */
static void reserve_gateway_mac(void)
{
	static bool reserved;
	struct eth_addr *mac;
	const ip4_addr_t *ip;

	if (reserved || ip4_addr_isany_val(*netif_ip4_gw(&netif)))
		return;
	if (etharp_find_addr(&netif, netif_ip4_gw(&netif), &mac, &ip) < 0)
		return;
	reserved = true;
	int err = vswitch_reserve(&vswitch, mac->addr);
	if (err == FERR_EXIST)
		klog_warn("net: a guest's port has the gateway's MAC; it stays, but no other guest may take it");
	else if (err)
		klog_warn("net: the gateway's MAC cannot be reserved on the virtual switch");
}

/* Counts received frames by window; reports heavy traffic while the last window had it. */
static void account_rx(unsigned frames, uint64_t now_ms)
{
	rx_window_frames += frames;
	if (now_ms - rx_window_start_ms >= RX_BUSY_WINDOW_MS) {
		rx_heavy = rx_window_frames >= RX_BUSY_FRAMES;
		rx_window_start_ms = now_ms;
		rx_window_frames = 0;
	}
	if (rx_heavy)
		poll_report_busy();
}

static void net_poll(void)
{
	uint64_t deadline = poll_deadline();
	unsigned frames = 0, n;

	do {
		n = nic->poll(nic, RX_BATCH);
		frames += n;
	} while (n == RX_BATCH && clock_ns() < deadline);
	sys_check_timeouts();
	reserve_gateway_mac();
	uint64_t now = clock_ms();
	account_rx(frames, now);
	if (now - link_checked_ms >= LINK_CHECK_MS) {
		link_checked_ms = now;
		check_link();
	}
}

static void netif_status_changed(struct netif *n)
{
	char addr[16];
	net_format_ipv4(lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(n))), addr);
	klog_info("net: e0 %s, address %s%s", netif_is_link_up(n) ? "link up" : "link down", addr,
		  dhcp_supplied_address(n) ? " (dhcp)" : "");
}

static void netif_link_changed(struct netif *n)
{
	klog_info("net: e0 link %s", netif_is_link_up(n) ? "up" : "down");
}

void net_init(struct nic *started_nic)
{
	if (!started_nic)
		return;
	int err = lwip_port_init();
	if (err) {
		klog_error("net: no memory for lwIP's heap; networking is off");
		return;
	}
	nic = started_nic;
	lwip_init();

	const struct ferry_config *cfg = host_config();
	ip4_addr_t addr, mask, gw;
	ip4_addr_set_zero(&addr);
	ip4_addr_set_zero(&mask);
	ip4_addr_set_zero(&gw);
	if (!cfg->dhcp) {
		ip4_addr_set_u32(&addr, lwip_htonl(cfg->address));
		ip4_addr_set_u32(&mask, lwip_htonl(config_prefix_to_mask(cfg->prefix_len)));
		ip4_addr_set_u32(&gw, lwip_htonl(cfg->gateway));
	}
	netif_add(&netif, &addr, &mask, &gw, NULL, netif_setup, ethernet_input);
	netif_set_hostname(&netif, cfg->hostname);
	netif_set_status_callback(&netif, netif_status_changed);
	netif_set_link_callback(&netif, netif_link_changed);
	netif_set_default(&netif);
	check_link();   /* before netif_set_up, so the first status line tells the link state */
	netif_set_up(&netif);
	if (cfg->dhcp)
		dhcp_start(&netif);

	vswitch_init(&vswitch, nic->mac, to_uplink, NULL, to_stack, NULL, switch_users_changed, NULL);
	nic->rx = nic_rx;
	nic->rx_ctx = NULL;
	started = true;
	link_checked_ms = clock_ms();
	poll_register("net", net_poll, POLL_BACKGROUND);
	klog_info("net: lwIP %s on %s; %s", LWIP_VERSION_STRING, nic->model,
		  cfg->dhcp ? "asking DHCP for an address" : "static address from ferry.cfg");
}

bool net_has_nic(void)
{
	return started;
}

bool net_up(void)
{
	return started && netif_is_link_up(&netif) && !ip4_addr_isany_val(*netif_ip4_addr(&netif));
}

int net_send_raw_frame(const void *frame, size_t len)
{
	if (!started)
		return FERR_NOTSUP;
	return nic->send(nic, frame, len);
}

void net_mac(uint8_t out[6])
{
	if (started)
		memcpy(out, nic->mac, 6);
	else
		memset(out, 0, 6);
}

uint32_t net_address(void)
{
	return started ? lwip_ntohl(ip4_addr_get_u32(netif_ip4_addr(&netif))) : 0;
}

uint32_t net_netmask(void)
{
	return started ? lwip_ntohl(ip4_addr_get_u32(netif_ip4_netmask(&netif))) : 0;
}

uint32_t net_gateway(void)
{
	return started ? lwip_ntohl(ip4_addr_get_u32(netif_ip4_gw(&netif))) : 0;
}

bool net_dhcp(void)
{
	return host_config()->dhcp;
}

void net_get_counters(struct net_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!started)
		return;
	nic->get_stats(nic, &out->nic);
	out->stack_dropped = stack_dropped;
	out->link_up = nic->link_up(nic);
	out->speed_mbps = nic->speed_mbps(nic);
	out->promiscuous = promiscuous;
}

int net_port_attach(const uint8_t mac[6], vswitch_deliver_fn deliver, void *ctx)
{
	if (!started)
		return FERR_NOTSUP;
	return vswitch_attach(&vswitch, mac, deliver, ctx);
}

int net_port_detach(int port)
{
	if (!started)
		return FERR_NOTSUP;
	return vswitch_detach(&vswitch, port);
}

int net_port_send(int port, const void *frame, size_t len)
{
	if (!started)
		return FERR_OK;
	uplink_busy = false;
	vswitch_from_port(&vswitch, port, frame, len, clock_ms());
	/* A unicast frame went to the uplink alone: it may be offered again. A broadcast also
	 * reached the other ports and the host, so it is not (the uplink loses that one). */
	return uplink_busy && len >= NIC_MAC_LEN && !eth_is_multicast(frame) ? FERR_BUSY : FERR_OK;
}

const struct vswitch *net_vswitch(void)
{
	return started ? &vswitch : NULL;
}
