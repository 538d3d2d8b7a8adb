/* Host tests of the guest MAC rule (kernel/vm/guest_mac.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/guest_mac.h"

static const uint8_t host[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t guests[2][6] = {
	{ 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	{ 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc },
};

static int check(const uint8_t mac[6], char why[GUEST_MAC_WHY_MAX])
{
	return guest_mac_check(mac, host, guests, 2, why);
}

TEST(a_fresh_unicast_address_is_accepted)
{
	char why[GUEST_MAC_WHY_MAX] = "";
	const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

	CHECK_EQ_I(check(mac, why), FERR_OK);
	/* The host's NIC may be absent (all zeros): nothing then matches it. */
	const uint8_t none[6] = { 0 };
	CHECK_EQ_I(guest_mac_check(mac, none, NULL, 0, why), FERR_OK);
}

TEST(group_addresses_are_refused)
{
	char why[GUEST_MAC_WHY_MAX];
	const uint8_t multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t odd_first[6] = { 0x53, 0x54, 0x00, 0x12, 0x34, 0x56 };

	CHECK_EQ_I(check(multicast, why), FERR_INVAL);
	CHECK_STR(why, "mac 01:00:5e:00:00:01 is a multicast address");
	CHECK_EQ_I(check(broadcast, why), FERR_INVAL);
	CHECK_EQ_I(check(odd_first, why), FERR_INVAL);
}

TEST(zero_host_and_taken_addresses_are_refused)
{
	char why[GUEST_MAC_WHY_MAX];
	const uint8_t zero[6] = { 0 };

	CHECK_EQ_I(check(zero, why), FERR_INVAL);
	CHECK_STR(why, "mac 00:00:00:00:00:00 is the zero address");
	CHECK_EQ_I(check(host, why), FERR_INVAL);
	CHECK_STR(why, "mac 52:54:00:12:34:56 is this host's own");
	CHECK_EQ_I(check(guests[1], why), FERR_INVAL);
	CHECK_STR(why, "mac 52:54:00:aa:bb:cc is in use by another guest here");
}

int main(void)
{
	return run_tests();
}
