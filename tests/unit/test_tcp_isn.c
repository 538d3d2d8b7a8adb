/*
 * Host tests of RFC 6528 initial sequence numbers and random ephemeral ports
 * (net/tcp_isn.c): the keyed function F (checked with Python's hashlib), the 4 us
 * clock M, and that neither the four-tuple nor the secret can be changed without
 * changing F.
 */
#include "check.h"
#include "net/tcp_isn.h"

#define A_IP 0xC6120002u   /* 198.18.0.2 */
#define B_IP 0xC612000Bu   /* 198.18.0.11 */

static uint8_t secret[TCP_ISN_SECRET_BYTES];

static void make_secret(uint8_t first)
{
	for (unsigned i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(first + i);
}

TEST(isn_is_the_clock_plus_a_keyed_hash_of_the_tuple)
{
	make_secret(0);
	/* F = BLAKE2s-32(key: secret; local ip LE32 || remote ip LE32 || local port << 16 | remote port). */
	CHECK_EQ_U(tcp_isn_compute(secret, A_IP, 49152, B_IP, 8002, 0), 0xef8aa827u);
	/* M ticks every 4 us: a second later the ISN moved by 250000. */
	CHECK_EQ_U(tcp_isn_compute(secret, A_IP, 49152, B_IP, 8002, 1000000000ull),
		   0xef8aa827u + 250000u);
	CHECK_EQ_U(tcp_isn_compute(secret, A_IP, 49152, B_IP, 8002, 3999), 0xef8aa827u);
}

TEST(isn_changes_with_every_field_and_the_secret)
{
	make_secret(0);
	uint32_t base = tcp_isn_compute(secret, A_IP, 49152, B_IP, 8002, 0);

	CHECK(tcp_isn_compute(secret, A_IP + 1, 49152, B_IP, 8002, 0) != base);
	CHECK(tcp_isn_compute(secret, A_IP, 49153, B_IP, 8002, 0) != base);
	CHECK(tcp_isn_compute(secret, A_IP, 49152, B_IP + 1, 8002, 0) != base);
	CHECK(tcp_isn_compute(secret, A_IP, 49152, B_IP, 8003, 0) != base);
	/* Swapping the ends is another connection. */
	CHECK(tcp_isn_compute(secret, B_IP, 8002, A_IP, 49152, 0) != base);
	make_secret(1);
	CHECK(tcp_isn_compute(secret, A_IP, 49152, B_IP, 8002, 0) != base);
}

TEST(ephemeral_ports_stay_in_the_iana_range)
{
	CHECK_EQ_U(tcp_ephemeral_port(0), 49152);
	CHECK_EQ_U(tcp_ephemeral_port(16383), 65535);
	CHECK_EQ_U(tcp_ephemeral_port(16384), 49152);
	CHECK_EQ_U(tcp_ephemeral_port(0xffffffffu), 65535);
	for (uint32_t r = 0; r < 100000; r += 7)
		CHECK(tcp_ephemeral_port(r * 2654435761u) >= 49152);
}

int main(void)
{
	return run_tests();
}
