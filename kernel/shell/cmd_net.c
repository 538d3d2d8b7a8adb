/*
 * Network commands: net, ping, netbench. The work is net/'s (the stack's state,
 * the ICMP echo engine net/ping.c, TCP streams): these parse, wait and print.
 */
#include "net/net.h"
#include "net/bench_stream.h"
#include "net/lwip_heap.h"
#include "net/lwip_pools.h"
#include "net/ping.h"
#include "net/tcp_stream.h"
#include "kernel/clock.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"
#include "kernel/poll.h"
#include "kernel/shell/shell.h"

#include <string.h>

#define PORT_MIN 1
#define PORT_MAX 65535

static bool require_network(void)
{
	if (!net_has_nic()) {
		shell_error("no network: Ferry found no supported NIC");
		return false;
	}
	if (!net_up()) {
		shell_error("network is down (link down or no address yet)");
		return false;
	}
	return true;
}

/* Parses A.B.C.D into a host-order address. */
static bool parse_host(const char *s, uint32_t *out)
{
	uint16_t no_port;
	return !strchr(s, ':') && net_parse_host_port(s, 0, out, &no_port);
}

/* Prints microseconds as milliseconds with three decimals. */
static void print_ms(uint64_t us)
{
	kprintf("%llu.%03llu", (unsigned long long)(us / US_PER_MS),
		(unsigned long long)(us % US_PER_MS));
}

/* ---- net ---------------------------------------------------------------------------------- */
static enum shell_status cmd_net(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	if (!net_has_nic()) {
		kprintf("nic=none link=down\n");
		return SHELL_OK;
	}
	uint8_t mac[6];
	char addr[16], mask[16], gw[16];
	struct net_counters c;
	struct lwip_heap_stats heap;

	net_mac(mac);
	net_format_ipv4(net_address(), addr);
	net_format_ipv4(net_netmask(), mask);
	net_format_ipv4(net_gateway(), gw);
	net_get_counters(&c);
	lwip_heap_get_stats(&heap);
	const struct vswitch *sw = net_vswitch();
	kprintf("mac=%02x:%02x:%02x:%02x:%02x:%02x address=%s netmask=%s gateway=%s dhcp=%s\n",
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], addr, mask, gw,
		net_dhcp() ? "yes" : "no");
	kprintf("link=%s speed_mbps=%u up=%s promiscuous=%s\n", c.link_up ? "up" : "down",
		c.speed_mbps, net_up() ? "yes" : "no", c.promiscuous ? "yes" : "no");
	kprintf("rx_packets=%llu rx_bytes=%llu tx_packets=%llu tx_bytes=%llu\n",
		(unsigned long long)c.nic.rx_packets, (unsigned long long)c.nic.rx_bytes,
		(unsigned long long)c.nic.tx_packets, (unsigned long long)c.nic.tx_bytes);
	kprintf("rx_dropped=%llu rx_missed=%llu rx_errors=%llu tx_dropped=%llu tx_errors=%llu "
		"stack_dropped=%llu\n",
		(unsigned long long)c.nic.rx_dropped, (unsigned long long)c.nic.rx_missed,
		(unsigned long long)c.nic.rx_errors, (unsigned long long)c.nic.tx_dropped,
		(unsigned long long)c.nic.tx_errors, (unsigned long long)c.stack_dropped);
	kprintf("switch_ports=%u switch_forwarded=%llu switch_flooded=%llu switch_dropped=%llu\n",
		sw->port_count, (unsigned long long)sw->forwarded,
		(unsigned long long)sw->flooded, (unsigned long long)sw->dropped);
	kprintf("lwip_heap_kib=%llu lwip_used_kib=%llu lwip_peak_kib=%llu lwip_alloc_failures=%llu "
		"lwip_pool_refusals=%llu\n",
		heap.region_bytes / KIB, heap.used_bytes / KIB, heap.peak_bytes / KIB,
		(unsigned long long)heap.failures, (unsigned long long)lwip_pools_refused());
	return SHELL_OK;
}

/* ---- ping ----------------------------------------------------------------------------------- */
#define PING_TIMEOUT_MS   1000
#define PING_INTERVAL_MS  200
#define PING_DEFAULT_COUNT 4
#define PING_MAX_COUNT    1000

static bool ping_replied(void *ctx)
{
	return ((struct ping *)ctx)->replied || console_interrupted();
}

static bool never(void *ctx)
{
	(void)ctx;
	return console_interrupted();
}

static enum shell_status cmd_ping(int argc, char **argv)
{
	uint32_t host;
	uint64_t count = PING_DEFAULT_COUNT;

	if (argc < 2 || argc > 3)
		return SHELL_USAGE;
	if (!parse_host(argv[1], &host)) {
		shell_error("'%.32s' is not an IPv4 address A.B.C.D", argv[1]);
		return SHELL_FAILED;
	}
	if (argc == 3 && !shell_parse_number("COUNT", argv[2], 1, PING_MAX_COUNT, &count))
		return SHELL_FAILED;
	if (!require_network())
		return SHELL_FAILED;

	struct ping st;
	if (ping_start(&st, host)) {
		shell_error("out of memory");
		return SHELL_FAILED;
	}

	char name[NET_ADDR_TEXT_MAX];
	net_format_ipv4(host, name);
	kprintf("PING %s: %u data bytes\n", name, PING_DATA_BYTES);
	console_interrupt_reset();
	unsigned received = 0;
	uint64_t min_us = UINT64_MAX, max_us = 0, sum_us = 0;
	unsigned sent = 0;
	for (unsigned i = 0; i < count && !console_interrupted(); i++) {
		uint16_t seq = (uint16_t)(i + 1);
		sent++;
		if (ping_send(&st, seq)) {
			kprintf("seq=%u send failed\n", seq);
		} else if (poll_until(ping_replied, &st, PING_TIMEOUT_MS) && st.replied) {
			received++;
			min_us = st.rtt_us < min_us ? st.rtt_us : min_us;
			max_us = st.rtt_us > max_us ? st.rtt_us : max_us;
			sum_us += st.rtt_us;
			kprintf("%u bytes from %s: seq=%u time=", (unsigned)PING_ECHO_BYTES, name, seq);
			print_ms(st.rtt_us);
			kprintf(" ms\n");
		} else if (!console_interrupted()) {
			kprintf("seq=%u timeout\n", seq);
		}
		if (i + 1 < count) {
			uint64_t since = (clock_us() - st.sent_us) / US_PER_MS;
			if (since < PING_INTERVAL_MS)
				poll_until(never, NULL, PING_INTERVAL_MS - since);
		}
	}
	ping_stop(&st);
	if (console_interrupted())
		kprintf("interrupted\n");
	kprintf("%u transmitted, %u received, %u%% loss", sent, received,
		sent ? (sent - received) * 100 / sent : 0);
	if (received) {
		kprintf(", rtt min/avg/max = ");
		print_ms(min_us);
		kprintf("/");
		print_ms(sum_us / received);
		kprintf("/");
		print_ms(max_us);
		kprintf(" ms");
	}
	kprintf("\n");
	return received ? SHELL_OK : SHELL_FAILED;
}

/* ---- netbench ---------------------------------------------------------------------------------- */
#define NETBENCH_DEFAULT_PORT   5001
#define NETBENCH_MAX_MIB        4096
#define NETBENCH_CHUNK          (16 * KIB)
#define NETBENCH_CONNECT_MS     15000
#define NETBENCH_STALL_MS       30000
#define NETBENCH_ACCEPT_MS      120000

static uint8_t chunk[NETBENCH_CHUNK];

/* A positive stand-in beside the (negative) ferry_err values: Ctrl-C stopped the transfer. */
#define NETBENCH_INTERRUPTED 1

static const char *failure_name(int err)
{
	return err == NETBENCH_INTERRUPTED ? "interrupted" : err_name(err);
}

/* After a wait: the interrupt, a timeout (the wait gave up), or the stream's own error. */
static int wait_outcome(bool done, const struct tcp_stream *s)
{
	if (console_interrupted())
		return NETBENCH_INTERRUPTED;
	if (!done)
		return FERR_TIMEOUT;
	return tcp_stream_error(s);
}

static bool stream_settled(void *ctx)
{
	struct tcp_stream *s = ctx;
	return tcp_stream_connected(s) || tcp_stream_error(s) || console_interrupted();
}

static bool stream_writable(void *ctx)
{
	struct tcp_stream *s = ctx;
	return tcp_stream_writable(s) > 0 || tcp_stream_error(s) || console_interrupted();
}

static bool stream_drained(void *ctx)
{
	struct tcp_stream *s = ctx;
	return tcp_stream_unacked(s) == 0 || tcp_stream_error(s) || console_interrupted();
}

static bool stream_readable(void *ctx)
{
	struct tcp_stream *s = ctx;
	return tcp_stream_readable(s) > 0 || tcp_stream_error(s) || console_interrupted();
}

static void print_result(const char *what, uint64_t bytes, uint64_t us, uint32_t crc,
			 uint32_t peer, uint16_t port)
{
	char name[16];
	uint64_t centi_mb_per_s = us ? bytes * 100 / us : 0;   /* bytes per microsecond = MB/s */

	net_format_ipv4(peer, name);
	kprintf("netbench: %s bytes=%llu ms=%llu mb_per_s=%llu.%02llu crc32=0x%08x peer=%s:%u\n",
		what, (unsigned long long)bytes, (unsigned long long)(us / US_PER_MS),
		(unsigned long long)(centi_mb_per_s / 100), (unsigned long long)(centi_mb_per_s % 100),
		crc, name, port);
}

static enum shell_status netbench_send(int argc, char **argv)
{
	uint32_t host;
	uint16_t port;
	uint64_t mib;

	if (argc != 4)
		return SHELL_USAGE;
	if (!net_parse_host_port(argv[2], NETBENCH_DEFAULT_PORT, &host, &port)) {
		shell_error("'%.40s' is not HOST[:PORT] (an IPv4 address, a port 1-65535)", argv[2]);
		return SHELL_FAILED;
	}
	if (!shell_parse_number("MIB", argv[3], 1, NETBENCH_MAX_MIB, &mib))
		return SHELL_FAILED;
	if (!require_network())
		return SHELL_FAILED;

	struct tcp_stream *s;
	console_interrupt_reset();
	int err = tcp_stream_connect(host, port, &s);
	if (err) {
		shell_error("connect: %s", err_name(err));
		return SHELL_FAILED;
	}
	err = wait_outcome(poll_until(stream_settled, s, NETBENCH_CONNECT_MS), s);
	if (err || !tcp_stream_connected(s)) {
		shell_error("connect: %s", failure_name(err ? err : FERR_TIMEOUT));
		tcp_stream_abort(s);
		return SHELL_FAILED;
	}
	uint64_t total = mib * MIB, sent = 0;
	uint32_t crc = 0;
	uint64_t start = clock_us();
	while (sent < total) {
		if ((err = wait_outcome(poll_until(stream_writable, s, NETBENCH_STALL_MS), s)))
			break;
		size_t n = tcp_stream_writable(s);
		n = n < NETBENCH_CHUNK ? n : NETBENCH_CHUNK;
		n = n < total - sent ? n : (size_t)(total - sent);
		bench_stream_fill(sent, chunk, n);
		long w = tcp_stream_write(s, chunk, n);
		if (w < 0) {
			err = (int)w;
			break;
		}
		crc = crc32_update(crc, chunk, (size_t)w);
		sent += (uint64_t)w;
	}
	if (!err)
		err = wait_outcome(poll_until(stream_drained, s, NETBENCH_STALL_MS), s);
	uint64_t us = clock_us() - start;
	if (err) {
		shell_error("send: %s after %llu bytes", failure_name(err), (unsigned long long)sent);
		tcp_stream_abort(s);
		return SHELL_FAILED;
	}
	tcp_stream_close(s);
	print_result("sent", sent, us, crc, host, port);
	return SHELL_OK;
}

struct accept_slot {
	struct tcp_stream *stream;
};

static void netbench_accept(struct tcp_stream *s, void *ctx)
{
	struct accept_slot *slot = ctx;
	if (slot->stream)
		tcp_stream_abort(s);   /* one transfer at a time */
	else
		slot->stream = s;
}

static bool accepted(void *ctx)
{
	return ((struct accept_slot *)ctx)->stream != NULL || console_interrupted();
}

static enum shell_status netbench_recv(int argc, char **argv)
{
	uint64_t port = NETBENCH_DEFAULT_PORT;

	if (argc > 3)
		return SHELL_USAGE;
	if (argc == 3 && !shell_parse_number("PORT", argv[2], PORT_MIN, PORT_MAX, &port))
		return SHELL_FAILED;
	if (!require_network())
		return SHELL_FAILED;

	struct accept_slot slot = { 0 };
	struct tcp_listener *l;
	int err = tcp_listener_open((uint16_t)port, netbench_accept, &slot, &l);
	if (err) {
		shell_error("listen on port %u: %s", (unsigned)port, err_name(err));
		return SHELL_FAILED;
	}
	kprintf("netbench: listening on port %u\n", (unsigned)port);
	console_interrupt_reset();
	poll_until(accepted, &slot, NETBENCH_ACCEPT_MS);
	tcp_listener_close(l);
	if (!slot.stream) {
		if (console_interrupted())
			shell_error("interrupted");
		else
			shell_error("no connection within %u s", (unsigned)(NETBENCH_ACCEPT_MS / MS_PER_S));
		return SHELL_FAILED;
	}
	struct tcp_stream *s = slot.stream;
	uint64_t received = 0;
	uint32_t crc = 0;
	uint64_t start = clock_us();
	for (;;) {
		bool done = poll_until(stream_readable, s, NETBENCH_STALL_MS);
		if (console_interrupted() || !done) {
			err = console_interrupted() ? NETBENCH_INTERRUPTED : FERR_TIMEOUT;
			break;
		}
		long n = tcp_stream_read(s, chunk, sizeof(chunk));
		if (n < 0)
			break;   /* the peer closed (or reset): the count and checksum tell which */
		crc = crc32_update(crc, chunk, (size_t)n);
		received += (uint64_t)n;
	}
	uint64_t us = clock_us() - start;
	uint32_t peer;
	uint16_t peer_port;
	tcp_stream_peer(s, &peer, &peer_port);
	tcp_stream_close(s);
	if (err) {
		shell_error("receive: %s after %llu bytes", failure_name(err),
			    (unsigned long long)received);
		return SHELL_FAILED;
	}
	print_result("received", received, us, crc, peer, peer_port);
	return SHELL_OK;
}

static enum shell_status cmd_netbench(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "send") == 0)
		return netbench_send(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "recv") == 0)
		return netbench_recv(argc, argv);
	return SHELL_USAGE;
}

const struct shell_command net_commands[] = {
	{ "net", "", "network settings, link state and counters", cmd_net },
	{ "ping", "HOST [COUNT]", "ICMP echo to an IPv4 host, with times and a summary", cmd_ping },
	{ "netbench", "send HOST[:PORT] MIB | recv [PORT]",
	  "TCP bulk transfer of a checksummed stream (port 5001): MB/s and crc32", cmd_netbench },
	{ NULL, NULL, NULL, NULL },
};
