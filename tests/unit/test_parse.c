/* Host tests of the shared text parsers (kernel/lib/parse.c). */
#include "check.h"
#include "kernel/lib/parse.h"

#include <string.h>

TEST(numbers)
{
	uint64_t v;

	CHECK(parse_u64("32", 16, 1024, &v));
	CHECK_EQ_U(v, 32);
	CHECK(parse_u64("0x20", 0, 100, &v));
	CHECK_EQ_U(v, 32);
	CHECK(parse_u64("0X1f", 0, 100, &v));
	CHECK_EQ_U(v, 31);
	CHECK(parse_u64("0007", 0, 100, &v));
	CHECK_EQ_U(v, 7);
	CHECK(!parse_u64("8", 16, 1024, &v));
	CHECK(!parse_u64("2048", 16, 1024, &v));
	CHECK(!parse_u64("", 0, 10, &v));
	CHECK(!parse_u64("0x", 0, 10, &v));
	CHECK(!parse_u64("12k", 0, 100, &v));
	CHECK(!parse_u64("1f", 0, 100, &v));
	CHECK(!parse_u64("-1", 0, 100, &v));
	CHECK(!parse_u64(" 1", 0, 100, &v));
	CHECK(!parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
	CHECK(!parse_u64("0x10000000000000000", 0, UINT64_MAX, &v));
	CHECK(parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
	CHECK_EQ_U(v, UINT64_MAX);
	CHECK(parse_u64("0xffffffffffffffff", 0, UINT64_MAX, &v));
	CHECK_EQ_U(v, UINT64_MAX);
}

TEST(failures_store_nothing)
{
	uint64_t v = 77;
	uint8_t mac[PARSE_MAC_BYTES] = { 1, 2, 3, 4, 5, 6 };
	uint32_t a = 99;

	CHECK(!parse_u64("5", 10, 20, &v));
	CHECK(!parse_hex64("xyz", &v));
	CHECK(!parse_decimal("1234", 3, 200, 300, &v));
	CHECK_EQ_U(v, 77);
	CHECK(!parse_mac("52:54:00:ab:cd:zz", mac));
	CHECK_EQ_U(mac[0], 1);
	CHECK_EQ_U(mac[5], 6);
	CHECK(!parse_ipv4("1.2.3.x", 7, &a));
	CHECK_EQ_U(a, 99);
}

TEST(decimal_spans)
{
	uint64_t v;

	CHECK(parse_decimal("8002 trailing", 4, 1, 65535, &v));
	CHECK_EQ_U(v, 8002);
	CHECK(!parse_decimal("0", 1, 1, 65535, &v));
	CHECK(!parse_decimal("65536", 5, 1, 65535, &v));
	CHECK(!parse_decimal("0x10", 4, 0, 100, &v));
	CHECK(!parse_decimal("", 0, 0, 100, &v));
	CHECK(!parse_decimal("99999999999999999999", 20, 0, UINT64_MAX, &v));
}

TEST(hex_ids)
{
	uint64_t v;

	/* migration ids: 1-16 hex digits, no prefix */
	CHECK(parse_hex64("6811de2a99c08bdd", &v) && v == 0x6811de2a99c08bddull);
	CHECK(parse_hex64("FFFFFFFFFFFFFFFF", &v) && v == UINT64_MAX);
	CHECK(parse_hex64("a", &v) && v == 10);
	CHECK(!parse_hex64("", &v));
	CHECK(!parse_hex64("0x12", &v));
	CHECK(!parse_hex64("memtest", &v));
	CHECK(!parse_hex64("10000000000000000", &v));
	CHECK(!parse_hex64("00000000000000001", &v));
}

TEST(mac_addresses)
{
	uint8_t mac[PARSE_MAC_BYTES];

	CHECK(parse_mac("52:54:00:Ab:cD:ef", mac));
	CHECK_EQ_U(mac[0], 0x52);
	CHECK_EQ_U(mac[3], 0xab);
	CHECK_EQ_U(mac[5], 0xef);
	CHECK(!parse_mac("52:54:00:ab:cd", mac));
	CHECK(!parse_mac("52:54:00:ab:cd:ef:00", mac));
	CHECK(!parse_mac("52-54-00-ab-cd-ef", mac));
	CHECK(!parse_mac("5:54:00:ab:cd:ef", mac));
	CHECK(!parse_mac("", mac));
}

TEST(ipv4_addresses)
{
	uint32_t a;

	CHECK(parse_ipv4("0.0.0.0", 7, &a));
	CHECK_EQ_U(a, 0);
	CHECK(parse_ipv4("255.255.255.255", 15, &a));
	CHECK_EQ_U(a, 0xffffffffu);
	CHECK(parse_ipv4("198.18.0.10/24", 11, &a));
	CHECK_EQ_U(a, 0xc612000au);
	CHECK(!parse_ipv4("1.2.3.4 ", 8, &a));
	CHECK(!parse_ipv4("1.2.3.0004", 10, &a));
	CHECK(!parse_ipv4("1.2.3.256", 9, &a));
	CHECK(!parse_ipv4("1.2.3", 5, &a));
	CHECK(!parse_ipv4("1.2.3.4.5", 9, &a));
	CHECK(!parse_ipv4("1..3.4", 6, &a));
	CHECK(!parse_ipv4("", 0, &a));
}

int main(void)
{
	return run_tests();
}
