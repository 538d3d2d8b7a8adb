/* The virtual switch's forwarding and learning table (net/vswitch.c). */
#include "check.h"
#include "net/vswitch.h"
#include "kernel/lib/errors.h"

#include <stdint.h>
#include <string.h>

#define MAX_LOG 32

/* Where each frame went: a port index, VSWITCH_UPLINK or VSWITCH_HOST. */
static int log_dest[MAX_LOG];
static unsigned log_count;
static int users_calls;
static bool users_state;

static void record(void *ctx, const uint8_t *frame, size_t len)
{
	(void)frame;
	(void)len;
	if (log_count < MAX_LOG)
		log_dest[log_count++] = (int)(intptr_t)ctx;
}

static void users(void *ctx, bool has)
{
	(void)ctx;
	users_calls++;
	users_state = has;
}

static const uint8_t HOST[6] = { 0x52, 0x54, 0x00, 0x18, 0x00, 0x0a };
static const uint8_t GUEST_A[6] = { 0x52, 0x54, 0x00, 0xaa, 0x00, 0x01 };
static const uint8_t GUEST_B[6] = { 0x52, 0x54, 0x00, 0xbb, 0x00, 0x02 };
static const uint8_t REMOTE[6] = { 0x52, 0x54, 0x00, 0x18, 0x00, 0x0b };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6])
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
}

static void setup(struct vswitch *sw)
{
	vswitch_init(sw, HOST, record, (void *)(intptr_t)VSWITCH_UPLINK, record,
		     (void *)(intptr_t)VSWITCH_HOST, users, NULL);
	log_count = 0;
	users_calls = 0;
	users_state = false;
}

static int attach(struct vswitch *sw, const uint8_t mac[6], int expect_index)
{
	return vswitch_attach(sw, mac, record, (void *)(intptr_t)expect_index);
}

TEST(attach_detach_and_promiscuous_users)
{
	struct vswitch sw;
	setup(&sw);
	CHECK(!vswitch_has_users(&sw));
	CHECK_EQ_I(attach(&sw, GUEST_A, 0), 0);
	CHECK_EQ_I(users_calls, 1);
	CHECK(users_state);
	CHECK_EQ_I(attach(&sw, GUEST_B, 1), 1);
	CHECK_EQ_I(users_calls, 1);                /* only the first attach turns it on */
	CHECK_EQ_I(attach(&sw, GUEST_A, 2), FERR_EXIST);
	CHECK_EQ_I(attach(&sw, BCAST, 2), FERR_INVAL);
	CHECK_EQ_I(attach(&sw, HOST, 2), FERR_INVAL);
	CHECK_EQ_I(vswitch_detach(&sw, 0), FERR_OK);
	CHECK_EQ_I(vswitch_detach(&sw, 0), FERR_NOENT);
	CHECK(users_state);
	CHECK_EQ_I(vswitch_detach(&sw, 1), FERR_OK);
	CHECK_EQ_I(users_calls, 2);
	CHECK(!users_state);
	CHECK_EQ_I(vswitch_detach(&sw, 99), FERR_NOENT);
}

TEST(ports_run_out)
{
	struct vswitch sw;
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
	setup(&sw);
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++) {
		mac[5] = (uint8_t)(i + 1);
		CHECK_EQ_I(attach(&sw, mac, i), i);
	}
	mac[5] = 0x77;
	CHECK_EQ_I(attach(&sw, mac, 0), FERR_NOMEM);
}

TEST(uplink_unicast_goes_to_its_port_only)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	frame(f, GUEST_B, REMOTE);
	vswitch_from_uplink(&sw, f, sizeof(f), 1000);
	CHECK_EQ_U(log_count, 1);
	CHECK_EQ_I(log_dest[0], 1);
	/* An unknown destination from the uplink is dropped, never flooded to guests. */
	uint8_t other[6] = { 0x02, 9, 9, 9, 9, 9 };
	frame(f, other, REMOTE);
	vswitch_from_uplink(&sw, f, sizeof(f), 1000);
	CHECK_EQ_U(log_count, 1);
	CHECK_EQ_U(sw.dropped, 1);
	/* The remote host was learned behind the uplink. */
	CHECK_EQ_I(vswitch_lookup(&sw, REMOTE, 1000), VSWITCH_UPLINK);
}

TEST(uplink_broadcast_reaches_every_port)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	frame(f, BCAST, REMOTE);
	vswitch_from_uplink(&sw, f, sizeof(f), 0);
	CHECK_EQ_U(log_count, 2);
	CHECK_EQ_I(log_dest[0], 0);
	CHECK_EQ_I(log_dest[1], 1);
}

TEST(port_traffic_routes_to_host_port_or_uplink)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);

	frame(f, HOST, GUEST_A);
	vswitch_from_port(&sw, 0, f, sizeof(f), 0);
	frame(f, GUEST_B, GUEST_A);
	vswitch_from_port(&sw, 0, f, sizeof(f), 0);
	frame(f, REMOTE, GUEST_A);
	vswitch_from_port(&sw, 0, f, sizeof(f), 0);
	CHECK_EQ_U(log_count, 3);
	CHECK_EQ_I(log_dest[0], VSWITCH_HOST);
	CHECK_EQ_I(log_dest[1], 1);
	CHECK_EQ_I(log_dest[2], VSWITCH_UPLINK);

	/* Broadcast from a port: the other ports, the host and the uplink, not back to itself. */
	log_count = 0;
	frame(f, BCAST, GUEST_A);
	vswitch_from_port(&sw, 0, f, sizeof(f), 0);
	CHECK_EQ_U(log_count, 3);
	CHECK_EQ_I(log_dest[0], 1);
	CHECK_EQ_I(log_dest[1], VSWITCH_HOST);
	CHECK_EQ_I(log_dest[2], VSWITCH_UPLINK);
}

TEST(uplink_learning_ages_out)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	frame(f, GUEST_A, REMOTE);
	vswitch_from_uplink(&sw, f, sizeof(f), 100);
	CHECK_EQ_I(vswitch_lookup(&sw, REMOTE, 200), VSWITCH_UPLINK);
	/* Forgotten once it has been silent for longer than the ageing time. */
	CHECK_EQ_I(vswitch_lookup(&sw, REMOTE, 100 + VSWITCH_AGE_MS + 1), VSWITCH_UNKNOWN);
}

TEST(a_port_is_pinned_to_its_mac)
{
	struct vswitch sw;
	uint8_t f[60];
	uint8_t other[6] = { 0x02, 0xaa, 0, 0, 0, 7 };   /* a second MAC guest A tries */
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	/* Another source MAC: dropped, counted, not learned, not forwarded. */
	frame(f, REMOTE, other);
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	frame(f, BCAST, GUEST_B);                    /* guest A posing as guest B */
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	frame(f, BCAST, HOST);                       /* or as Ferry */
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	CHECK_EQ_U(log_count, 0);
	CHECK_EQ_I(vswitch_lookup(&sw, other, 200), VSWITCH_UNKNOWN);
	CHECK_EQ_I(vswitch_lookup(&sw, GUEST_B, 200), 1);
	const struct vswitch_port *a = vswitch_port(&sw, 0);
	CHECK(a != NULL);
	CHECK_EQ_U(a->drops[VSWITCH_DROP_SPOOFED], 3);
	CHECK_EQ_U(a->frames_in, 0);
	/* A frame to its own MAC goes nowhere. */
	frame(f, GUEST_A, GUEST_A);
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	CHECK_EQ_U(a->drops[VSWITCH_DROP_TO_SELF], 1);
	CHECK_EQ_U(log_count, 0);
	CHECK_STR(vswitch_drop_name(VSWITCH_DROP_SPOOFED), "spoofed");
	CHECK(vswitch_port(&sw, 2) == NULL);
	CHECK(vswitch_port(&sw, -1) == NULL);
}

TEST(refused_macs_and_reasons)
{
	struct vswitch sw;
	static const uint8_t ZERO[6] = { 0 };
	static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t GATEWAY[6] = { 0x52, 0x54, 0x00, 0x99, 0x00, 0x01 };
	setup(&sw);
	CHECK_EQ_I(attach(&sw, ZERO, 0), FERR_INVAL);
	CHECK_STR(vswitch_mac_refusal(&sw, ZERO), "the zero MAC");
	CHECK_EQ_I(attach(&sw, MCAST, 0), FERR_INVAL);
	CHECK_STR(vswitch_mac_refusal(&sw, MCAST), "a multicast MAC");
	CHECK_STR(vswitch_mac_refusal(&sw, BCAST), "a multicast MAC");
	CHECK_STR(vswitch_mac_refusal(&sw, HOST), "Ferry's own MAC");
	CHECK(vswitch_mac_refusal(&sw, GATEWAY) == NULL);
	CHECK_EQ_I(vswitch_reserve(&sw, GATEWAY), FERR_OK);
	CHECK_EQ_I(vswitch_reserve(&sw, GATEWAY), FERR_OK);   /* once is enough */
	CHECK_EQ_U(sw.reserved_count, 1);
	CHECK_EQ_I(attach(&sw, GATEWAY, 0), FERR_INVAL);
	CHECK_STR(vswitch_mac_refusal(&sw, GATEWAY), "a reserved MAC (the gateway's)");
	CHECK_EQ_I(attach(&sw, GUEST_A, 0), 0);
	CHECK_STR(vswitch_mac_refusal(&sw, GUEST_A), "another guest's MAC");
	CHECK_EQ_I(vswitch_reserve(&sw, GUEST_A), FERR_EXIST);
	CHECK_EQ_I(vswitch_reserve(&sw, BCAST), FERR_INVAL);
	CHECK_EQ_I(vswitch_reserve(&sw, ZERO), FERR_INVAL);
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0x55, 0 };
	for (unsigned i = 1; i < VSWITCH_RESERVED_MAX; i++) {
		mac[5] = (uint8_t)i;
		CHECK_EQ_I(vswitch_reserve(&sw, mac), FERR_OK);
	}
	mac[5] = 0x77;
	CHECK_EQ_I(vswitch_reserve(&sw, mac), FERR_NOMEM);
	CHECK_EQ_U(users_calls, 1);   /* refused attaches changed nothing */
}

TEST(per_port_counters)
{
	struct vswitch sw;
	uint8_t f[100];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	frame(f, GUEST_B, GUEST_A);
	vswitch_from_port(&sw, 0, f, 60, 0);
	vswitch_from_port(&sw, 0, f, 100, 0);
	vswitch_from_port(&sw, 0, f, 13, 0);
	const struct vswitch_port *a = vswitch_port(&sw, 0), *b = vswitch_port(&sw, 1);
	CHECK_EQ_U(a->frames_in, 2);
	CHECK_EQ_U(a->bytes_in, 160);
	CHECK_EQ_U(a->drops[VSWITCH_DROP_RUNT], 1);
	CHECK_EQ_U(b->frames_out, 2);
	CHECK_EQ_U(b->bytes_out, 160);
	CHECK_EQ_U(b->frames_in, 0);
}

TEST(the_table_lists_pinned_ports_then_live_learned_macs)
{
	struct vswitch sw;
	struct vswitch_row rows[VSWITCH_TABLE_MAX];
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	vswitch_detach(&sw, 0);
	uint8_t old[6] = { 0x02, 1, 2, 3, 4, 5 };
	frame(f, GUEST_B, old);
	vswitch_from_uplink(&sw, f, sizeof(f), 10);
	frame(f, GUEST_B, REMOTE);
	vswitch_from_uplink(&sw, f, sizeof(f), 1000);
	size_t n = vswitch_table(&sw, 1500 + VSWITCH_AGE_MS - 1000, rows, VSWITCH_TABLE_MAX);
	CHECK_EQ_U(n, 2);   /* B pinned, REMOTE learned; `old` aged out */
	CHECK(eth_mac_equal(rows[0].mac, GUEST_B));
	CHECK_EQ_I(rows[0].where, 1);
	CHECK(rows[0].pinned);
	CHECK(eth_mac_equal(rows[1].mac, REMOTE));
	CHECK_EQ_I(rows[1].where, VSWITCH_UPLINK);
	CHECK(!rows[1].pinned);
	CHECK_EQ_U(rows[1].age_ms, VSWITCH_AGE_MS - 500);
	CHECK_EQ_U(vswitch_table(&sw, 1000, rows, 1), 1);
}

TEST(host_frames_reach_ports)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	frame(f, GUEST_A, HOST);
	CHECK(!vswitch_from_host(&sw, f, sizeof(f)));   /* no ports: the NIC sends it */
	attach(&sw, GUEST_A, 0);
	attach(&sw, GUEST_B, 1);
	CHECK(vswitch_from_host(&sw, f, sizeof(f)));    /* for guest A only */
	CHECK_EQ_U(log_count, 1);
	CHECK_EQ_I(log_dest[0], 0);
	frame(f, REMOTE, HOST);
	CHECK(!vswitch_from_host(&sw, f, sizeof(f)));   /* for the wire */
	CHECK_EQ_U(log_count, 1);
	frame(f, BCAST, HOST);
	CHECK(!vswitch_from_host(&sw, f, sizeof(f)));   /* every port, and the wire too */
	CHECK_EQ_U(log_count, 3);
	CHECK_EQ_I(log_dest[1], 0);
	CHECK_EQ_I(log_dest[2], 1);
	CHECK(!vswitch_from_host(&sw, f, 13));
	CHECK_EQ_U(vswitch_port(&sw, 0)->frames_out, 2);
}

TEST(mac_moving_from_uplink_to_a_port)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	frame(f, HOST, GUEST_A);
	vswitch_from_uplink(&sw, f, sizeof(f), 0);   /* guest A lives elsewhere... */
	CHECK_EQ_I(vswitch_lookup(&sw, GUEST_A, 0), VSWITCH_UPLINK);
	attach(&sw, GUEST_A, 0);                    /* ...until it migrates here */
	CHECK_EQ_I(vswitch_lookup(&sw, GUEST_A, 0), 0);
	/* A port's own MAC is permanent: uplink frames claiming it do not move it. */
	vswitch_from_uplink(&sw, f, sizeof(f), 0);
	CHECK_EQ_I(vswitch_lookup(&sw, GUEST_A, 0), 0);
}

TEST(table_full_replaces_the_oldest)
{
	struct vswitch sw;
	uint8_t f[60];
	uint8_t mac[6] = { 0x02, 0x10, 0, 0, 0, 0 };
	setup(&sw);
	for (unsigned i = 0; i < VSWITCH_FDB_SIZE + 1; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		frame(f, HOST, mac);
		vswitch_from_uplink(&sw, f, sizeof(f), 10 + i);
	}
	mac[4] = 0;
	mac[5] = 0;
	CHECK_EQ_I(vswitch_lookup(&sw, mac, 100), VSWITCH_UNKNOWN);   /* the oldest went */
	mac[5] = VSWITCH_FDB_SIZE;
	CHECK_EQ_I(vswitch_lookup(&sw, mac, 100), VSWITCH_UPLINK);
}

TEST(short_frames_and_bad_ports_are_dropped)
{
	struct vswitch sw;
	uint8_t f[60];
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	frame(f, GUEST_A, REMOTE);
	vswitch_from_uplink(&sw, f, 13, 0);
	vswitch_from_port(&sw, 5, f, sizeof(f), 0);
	vswitch_from_port(&sw, -1, f, sizeof(f), 0);
	CHECK_EQ_U(log_count, 0);
}

int main(void)
{
	return run_tests();
}
