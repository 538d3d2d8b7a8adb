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

TEST(learning_ageing_and_detach_forgets)
{
	struct vswitch sw;
	uint8_t f[60];
	uint8_t behind_a[6] = { 0x02, 0xaa, 0, 0, 0, 7 };   /* a second MAC of guest A */
	setup(&sw);
	attach(&sw, GUEST_A, 0);
	frame(f, REMOTE, behind_a);
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	CHECK_EQ_I(vswitch_lookup(&sw, behind_a, 200), 0);
	/* Forgotten once it has been silent for longer than the ageing time. */
	CHECK_EQ_I(vswitch_lookup(&sw, behind_a, 100 + VSWITCH_AGE_MS + 1), VSWITCH_UNKNOWN);
	vswitch_from_port(&sw, 0, f, sizeof(f), 100);
	CHECK_EQ_I(vswitch_detach(&sw, 0), FERR_OK);
	CHECK_EQ_I(vswitch_lookup(&sw, behind_a, 200), VSWITCH_UNKNOWN);
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
