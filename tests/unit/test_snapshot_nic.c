/* Host tests of a Linux guest's network card section in a snapshot (kernel/vm/snapshot.c,
 * SNAP_TAG_NIC: the payload is the device's own codec, kernel/vdev/virtio_net_state.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/snapshot.h"

#include <string.h>

#define SECTION_HEADER_BYTES 12
#define NIC_QUEUE0_READY (8 + 6 * 4 + 3 * 8 + 3 * 2)   /* in the payload: see virtio_net_state.c */

static uint8_t blob[16384];

/* Decoding checks structure only (validation is vm_snapshot_validate's and, for the card,
 * virtio_net_check_state's against RAM), so a zeroed state with the flags set will do. */
static void with_nic(struct vm_snapshot *s)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x18, 0x01, 0x50 };

	memset(s, 0, sizeof(*s));
	s->has_platform = true;
	s->has_nic = true;
	memcpy(s->nic.mac, mac, sizeof(mac));
	s->nic.net_status = VIRTIO_NET_S_LINK_UP;
	s->nic.mmio.status = 0xf;
	s->nic.mmio.driver_features = 1ull << 32 | 1u << VIRTIO_NET_F_MAC;
	s->nic.mmio.queues[0] = (struct virtq){ 0x10000, 0x11000, 0x12000, 256, 7, 7, true };
	s->nic.mmio.queues[1] = (struct virtq){ 0x20000, 0x21000, 0x22000, 256, 65535, 65535, true };
}

TEST(a_guest_with_a_card_adds_its_section_last)
{
	struct vm_snapshot s, back;
	const char *why = NULL;

	with_nic(&s);
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	CHECK(n > 0);
	CHECK_EQ_U(blob[6], SNAP_TAG_COUNT_NIC);
	long at = n - VIRTIO_NET_STATE_BYTES - SECTION_HEADER_BYTES;
	CHECK_EQ_U(blob[at], SNAP_TAG_NIC);
	CHECK_EQ_U(blob[at + 4], VIRTIO_NET_STATE_VERSION);
	CHECK_EQ_U(blob[at + 8], VIRTIO_NET_STATE_BYTES);
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), 0);
	CHECK(back.has_nic && back.has_platform);
	CHECK(memcmp(&s.nic, &back.nic, sizeof(s.nic)) == 0);
	for (long len = 0; len < n; len++)   /* every truncation is refused */
		CHECK(vm_snapshot_decode(blob, (size_t)len, &back, &why) != 0);
}

TEST(without_a_card_a_linux_guest_keeps_its_eleven_sections)
{
	struct vm_snapshot s, back;
	const char *why = NULL;

	with_nic(&s);
	s.has_nic = false;
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	CHECK_EQ_U(blob[6], SNAP_TAG_COUNT);
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), 0);
	CHECK(!back.has_nic);
}

TEST(a_bad_card_section_is_refused_with_the_devices_reason)
{
	struct vm_snapshot s, back;
	const char *why = NULL;

	with_nic(&s);
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	long payload = n - VIRTIO_NET_STATE_BYTES;
	blob[payload + NIC_QUEUE0_READY] = 2;
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), FERR_INVAL);
	CHECK_STR(why, "virtio-net: a queue's ready or reserved byte is out of range");
	blob[payload + NIC_QUEUE0_READY] = 1;
	blob[payload - SECTION_HEADER_BYTES + 4] = VIRTIO_NET_STATE_VERSION + 1;
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), FERR_NOTSUP);
	CHECK_STR(why, "guest state section version not supported");
}

TEST(a_card_without_the_platform_is_refused)
{
	struct vm_snapshot s, back;
	const char *why = NULL;

	with_nic(&s);
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	/* Claim the 8 base sections plus the card's: 9, a count no guest has. */
	blob[6] = SNAP_TAG_COUNT_BASE + 1;
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), FERR_INVAL);
	CHECK_STR(why, "guest state has the wrong number of sections");
}

int main(void)
{
	return run_tests();
}
