/* The transmit offloads (kernel/vdev/net_offload.c): checksums checked by an independent sum. */
#include "check.h"
#include "kernel/vdev/net_offload.h"
#include "kernel/lib/errors.h"

#include <stdint.h>

#define ETH 14u
#define MAX_FRAME 1514u

static unsigned get16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* The plain RFC 1071 sum, folded (not complemented): 0xffff over data with its checksum. */
static unsigned ones_sum(uint32_t start, const uint8_t *p, size_t len)
{
	uint32_t sum = start;
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static unsigned pseudo(const uint8_t *ip, unsigned proto, size_t l4_len)
{
	return ones_sum(proto + (uint32_t)l4_len, ip + 12, 8);
}

/* Ethernet + IPv4 (ihl words) + TCP (doff words) + payload bytes; returns the length. */
static size_t tcp_frame(uint8_t *f, unsigned ihl, unsigned doff, size_t payload, uint8_t flags)
{
	size_t ip = ETH, tcp = ETH + ihl * 4, len = tcp + doff * 4 + payload;
	memset(f, 0, len);
	f[12] = 0x08;
	f[ip] = (uint8_t)(0x40 | ihl);
	f[ip + 2] = (uint8_t)((len - ETH) >> 8);
	f[ip + 3] = (uint8_t)(len - ETH);
	f[ip + 4] = 0x12;
	f[ip + 5] = 0xff;            /* id 0x12ff: the second segment's wraps the low byte */
	f[ip + 6] = 0x40;            /* DF */
	f[ip + 8] = 64;
	f[ip + 9] = 6;
	memcpy(f + ip + 12, (uint8_t[]){ 198, 18, 0, 50, 198, 18, 0, 1 }, 8);
	for (unsigned i = 20; i < ihl * 4; i++)
		f[ip + i] = 1;           /* NOP options */
	f[tcp] = 0x9c;
	f[tcp + 1] = 0x40;
	f[tcp + 3] = 80;
	memcpy(f + tcp + 4, (uint8_t[]){ 0xff, 0xff, 0xff, 0xa0 }, 4);   /* the sequence wraps */
	f[tcp + 12] = (uint8_t)(doff << 4);
	f[tcp + 13] = flags;
	f[tcp + 14] = 0xff;
	for (unsigned i = 20; i < doff * 4; i++)
		f[tcp + i] = 1;
	for (size_t i = 0; i < payload; i++)
		f[tcp + doff * 4 + i] = (uint8_t)(i * 13 + 5);
	f[tcp + 16] = 0xde;          /* whatever the guest left there */
	f[tcp + 17] = 0xad;
	return len;
}

TEST(partial_udp_checksum_is_completed)
{
	uint8_t f[ETH + 20 + 8 + 37];
	size_t ip = ETH, udp = ETH + 20, len = sizeof(f);
	memset(f, 0, sizeof(f));
	f[12] = 0x08;
	f[ip] = 0x45;
	f[ip + 9] = 17;
	memcpy(f + ip + 12, (uint8_t[]){ 10, 1, 2, 3, 10, 3, 2, 1 }, 8);
	f[udp + 5] = (uint8_t)(len - udp);
	for (size_t i = udp + 8; i < len; i++)
		f[i] = (uint8_t)(i * 31);
	/* What Linux leaves in the field: the pseudo-header's folded sum. */
	unsigned p = pseudo(f + ip, 17, len - udp);
	f[udp + 6] = (uint8_t)(p >> 8);
	f[udp + 7] = (uint8_t)p;
	const char *why = NULL;
	CHECK_EQ_I(net_offload_csum(f, len, udp, 6, &why), FERR_OK);
	CHECK_EQ_U(ones_sum(pseudo(f + ip, 17, len - udp), f + udp, len - udp), 0xffff);
}

TEST(a_checksum_field_outside_the_frame_is_refused)
{
	uint8_t f[60] = { 0 };
	const char *why = NULL;
	CHECK_EQ_I(net_offload_csum(f, 60, 61, 0, &why), FERR_INVAL);
	CHECK_STR(why, "the checksum field is outside the frame");
	CHECK_EQ_I(net_offload_csum(f, 60, 34, 25, &why), FERR_INVAL);
	CHECK_EQ_I(net_offload_csum(f, 60, 34, SIZE_MAX, &why), FERR_INVAL);
	CHECK_EQ_I(net_offload_csum(f, 60, SIZE_MAX, 2, &why), FERR_INVAL);
	CHECK_EQ_I(net_offload_csum(f, 60, 34, 24, &why), FERR_OK);   /* the last two bytes */
}

static void check_segments(unsigned ihl, unsigned doff, size_t payload, unsigned mss)
{
	static uint8_t frame[2 * MAX_FRAME], seg[MAX_FRAME], joined[2 * MAX_FRAME];
	const uint8_t flags = 0x80 | 0x10 | 0x08 | 0x01;   /* CWR ACK PSH FIN */
	size_t len = tcp_frame(frame, ihl, doff, payload, flags), headers = ETH + ihl * 4 + doff * 4;
	struct net_tso t;
	const char *why = NULL;
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, (uint16_t)mss, MAX_FRAME, &why), FERR_OK);
	CHECK_EQ_U(t.count, (payload + mss - 1) / mss);
	size_t joined_len = 0;
	for (unsigned i = 0; i < t.count; i++) {
		size_t n = net_tso_segment(&t, i, seg), data = n - headers;
		size_t ip = ETH, tcp = ETH + ihl * 4;
		CHECK_EQ_U(data, i + 1 < t.count ? mss : payload - (size_t)i * mss);
		CHECK_EQ_U(get16(seg + ip + 2), n - ETH);
		CHECK_EQ_U(get16(seg + ip + 4), (0x12ffu + i) & 0xffff);
		CHECK_EQ_U(ones_sum(0, seg + ip, ihl * 4), 0xffff);
		CHECK_EQ_U(get32(seg + tcp + 4), (uint32_t)(0xffffffa0u + i * mss));
		CHECK_EQ_U(ones_sum(pseudo(seg + ip, 6, n - tcp), seg + tcp, n - tcp), 0xffff);
		unsigned want = 0x10 | (i == 0 ? 0x80 : 0) | (i + 1 == t.count ? 0x09 : 0);
		CHECK_EQ_U(seg[tcp + 13], want);
		/* Everything else in the headers is the original's. */
		CHECK(memcmp(seg, frame, ip + 2) == 0);
		CHECK(memcmp(seg + ip + 6, frame + ip + 6, 4) == 0);
		CHECK(memcmp(seg + ip + 12, frame + ip + 12, tcp + 4 - ip - 12) == 0);
		CHECK(memcmp(seg + tcp + 8, frame + tcp + 8, 5) == 0);
		CHECK(memcmp(seg + tcp + 18, frame + tcp + 18, doff * 4 - 18) == 0);
		memcpy(joined + joined_len, seg + headers, data);
		joined_len += data;
	}
	CHECK_EQ_U(joined_len, payload);
	CHECK(memcmp(joined, frame + headers, payload) == 0);
}

TEST(a_tcp_frame_is_cut_into_segments_with_their_own_headers)
{
	check_segments(5, 5, 250, 100);
	check_segments(6, 8, 2 * MAX_FRAME - 100, 1448 - 12);   /* options both, full segments */
	check_segments(5, 5, 300, 100);                          /* an exact multiple */
	check_segments(5, 5, 1, 1460);
}

TEST(a_frame_without_payload_is_one_segment)
{
	uint8_t frame[MAX_FRAME], seg[MAX_FRAME];
	size_t len = tcp_frame(frame, 5, 5, 0, 0x11);
	struct net_tso t;
	const char *why = NULL;
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 1460, MAX_FRAME, &why), FERR_OK);
	CHECK_EQ_U(t.count, 1);
	CHECK_EQ_U(net_tso_segment(&t, 0, seg), len);
	CHECK_EQ_U(seg[ETH + 20 + 13], 0x11);
}

TEST(segmentation_refuses_what_is_not_whole_tcp_over_ipv4)
{
	uint8_t frame[MAX_FRAME];
	struct net_tso t;
	const char *why = NULL;
	size_t len = tcp_frame(frame, 5, 5, 100, 0x10);

	CHECK_EQ_I(net_tso_prepare(&t, frame, 53, 50, MAX_FRAME, &why), FERR_INVAL);
	frame[12] = 0x86;   /* IPv6's type */
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	CHECK_STR(why, "segmentation asked for a frame that is not IPv4");
	frame[12] = 0x08;
	frame[ETH] = 0x65;  /* version 6 in an IPv4 frame */
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	CHECK_STR(why, "segmentation asked for a malformed IPv4 header");
	frame[ETH] = 0x44;  /* a header shorter than 20 bytes */
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	frame[ETH] = 0x4f;  /* 60 bytes of header, then no room for TCP's 20 */
	CHECK_EQ_I(net_tso_prepare(&t, frame, ETH + 60 + 19, 50, MAX_FRAME, &why), FERR_INVAL);
	frame[ETH] = 0x45;
	frame[ETH + 9] = 17;
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	CHECK_STR(why, "segmentation asked for an IPv4 packet that is not whole TCP");
	frame[ETH + 9] = 6;
	frame[ETH + 6] = 0x20;   /* more fragments */
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	frame[ETH + 6] = 0x40;
	frame[ETH + 20 + 12] = 0x40;   /* data offset 4 words */
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 50, MAX_FRAME, &why), FERR_INVAL);
	CHECK_STR(why, "segmentation asked for a malformed TCP header");
	frame[ETH + 20 + 12] = 0xf0;   /* 60 bytes of TCP header in 54 + 100 */
	CHECK_EQ_I(net_tso_prepare(&t, frame, ETH + 20 + 59, 50, MAX_FRAME, &why), FERR_INVAL);
	frame[ETH + 20 + 12] = 0x50;
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, 0, MAX_FRAME, &why), FERR_INVAL);
	CHECK_STR(why, "the segment size does not fit a frame");
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, MAX_FRAME - 53, MAX_FRAME, &why), FERR_INVAL);
	CHECK_EQ_I(net_tso_prepare(&t, frame, len, MAX_FRAME - 54, MAX_FRAME, &why), FERR_OK);
}

int main(void)
{
	return run_tests();
}
