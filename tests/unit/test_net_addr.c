/* IPv4 endpoint text for the network commands (net/net_addr.c). */
#include "check.h"
#include "net/net_addr.h"

TEST(format)
{
	char buf[NET_ADDR_TEXT_MAX];
	net_format_ipv4(0xc612000a, buf);
	CHECK_STR(buf, "198.18.0.10");
	net_format_ipv4(0xffffffff, buf);
	CHECK_STR(buf, "255.255.255.255");
	net_format_ipv4(0, buf);
	CHECK_STR(buf, "0.0.0.0");
}

TEST(host_with_and_without_port)
{
	uint32_t a = 0;
	uint16_t p = 0;
	CHECK(net_parse_host_port("198.18.0.11", 5001, &a, &p));
	CHECK_EQ_U(a, 0xc612000b);
	CHECK_EQ_U(p, 5001);
	CHECK(net_parse_host_port("198.18.0.1:8002", 5001, &a, &p));
	CHECK_EQ_U(a, 0xc6120001);
	CHECK_EQ_U(p, 8002);
}

TEST(malformed_is_refused_and_leaves_outputs)
{
	uint32_t a = 7;
	uint16_t p = 9;
	const char *bad[] = { "", "198.18.0", "198.18.0.256", "198.18.0.1:", "198.18.0.1:0",
			      "198.18.0.1:65536", "198.18.0.1:80x", "host:80", ":80", "1.2.3.4:5:6" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!net_parse_host_port(bad[i], 1, &a, &p));
	}
	CHECK_EQ_U(a, 7);
	CHECK_EQ_U(p, 9);
}

int main(void)
{
	return run_tests();
}
