/* Transmit checksum and TCP segmentation offloads; see net_offload.h. */
#include "kernel/vdev/net_offload.h"

#include <string.h>

#include "kernel/lib/errors.h"

/* Ethernet II (IEEE 802.3 clause 3.2.6): destination, source, type. */
#define ETH_HEADER       14u
#define ETH_TYPE_AT      12u
#define ETH_TYPE_IPV4    0x0800u

/* IPv4 (RFC 791 3.1). */
#define IP_MIN_HEADER    20u
#define IP_VERSION_4     4u
#define IP_TOTAL_LEN_AT  2u
#define IP_ID_AT         4u
#define IP_FRAG_AT       6u
#define IP_FRAG_MF_OFFSET 0x3fffu   /* more-fragments and the fragment offset */
#define IP_PROTO_AT      9u
#define IP_CSUM_AT       10u
#define IP_ADDRS_AT      12u        /* source then destination */
#define IP_ADDRS_BYTES   8u
#define IP_PROTO_TCP     6u

/* TCP (RFC 9293 3.1). */
#define TCP_MIN_HEADER   20u
#define TCP_SEQ_AT       4u
#define TCP_OFFSET_AT    12u
#define TCP_FLAGS_AT     13u
#define TCP_CSUM_AT      16u
#define TCP_FIN          0x01u
#define TCP_PSH          0x08u
#define TCP_CWR          0x80u

#define CSUM_FIELD_BYTES 2u

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* RFC 1071: the sum of big-endian 16-bit words, an odd last byte padded with zero. */
static uint64_t sum_words(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint64_t)p[0] << 8;
	return sum;
}

static uint16_t fold_complement(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_offload_csum(uint8_t *frame, size_t len, size_t start, size_t offset, const char **why)
{
	if (start > len || offset > len - start || len - start - offset < CSUM_FIELD_BYTES) {
		*why = "the checksum field is outside the frame";
		return FERR_INVAL;
	}
	put16(frame + start + offset, fold_complement(sum_words(0, frame + start, len - start)));
	return FERR_OK;
}

int net_tso_prepare(struct net_tso *t, const uint8_t *frame, size_t len, uint16_t mss,
		    size_t max_frame, const char **why)
{
	memset(t, 0, sizeof(*t));
	if (len < ETH_HEADER + IP_MIN_HEADER + TCP_MIN_HEADER || get16(frame + ETH_TYPE_AT) != ETH_TYPE_IPV4) {
		*why = "segmentation asked for a frame that is not IPv4";
		return FERR_INVAL;
	}
	size_t ip = ETH_HEADER, ip_header = (size_t)(frame[ip] & 0xfu) * 4u;
	if (frame[ip] >> 4 != IP_VERSION_4 || ip_header < IP_MIN_HEADER ||
	    len - ip < ip_header + TCP_MIN_HEADER) {
		*why = "segmentation asked for a malformed IPv4 header";
		return FERR_INVAL;
	}
	if (frame[ip + IP_PROTO_AT] != IP_PROTO_TCP || (get16(frame + ip + IP_FRAG_AT) & IP_FRAG_MF_OFFSET)) {
		*why = "segmentation asked for an IPv4 packet that is not whole TCP";
		return FERR_INVAL;
	}
	size_t tcp = ip + ip_header, tcp_header = (size_t)(frame[tcp + TCP_OFFSET_AT] >> 4) * 4u;
	if (tcp_header < TCP_MIN_HEADER || len - tcp < tcp_header) {
		*why = "segmentation asked for a malformed TCP header";
		return FERR_INVAL;
	}
	size_t headers = tcp + tcp_header;
	if (mss == 0 || headers + mss > max_frame) {
		*why = "the segment size does not fit a frame";
		return FERR_INVAL;
	}
	size_t payload = len - headers;
	t->frame = frame;
	t->len = len;
	t->ip = ip;
	t->tcp = tcp;
	t->headers = headers;
	t->mss = mss;
	t->count = payload ? (unsigned)((payload + mss - 1) / mss) : 1u;
	return FERR_OK;
}

size_t net_tso_segment(const struct net_tso *t, unsigned i, uint8_t *out)
{
	size_t offset = (size_t)i * t->mss, payload = t->len - t->headers;
	size_t bytes = payload - offset < t->mss ? payload - offset : t->mss;
	size_t ip = t->ip, tcp = t->tcp, tcp_bytes = t->headers - tcp + bytes;

	memcpy(out, t->frame, t->headers);
	memcpy(out + t->headers, t->frame + t->headers + offset, bytes);

	put16(out + ip + IP_TOTAL_LEN_AT, (uint16_t)(t->headers - ip + bytes));
	put16(out + ip + IP_ID_AT, (uint16_t)(get16(t->frame + ip + IP_ID_AT) + i));
	put16(out + ip + IP_CSUM_AT, 0);
	put16(out + ip + IP_CSUM_AT, fold_complement(sum_words(0, out + ip, tcp - ip)));

	put32(out + tcp + TCP_SEQ_AT, get32(t->frame + tcp + TCP_SEQ_AT) + (uint32_t)offset);
	if (i + 1 < t->count)
		out[tcp + TCP_FLAGS_AT] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i > 0)
		out[tcp + TCP_FLAGS_AT] &= (uint8_t)~TCP_CWR;
	/* The pseudo-header (RFC 9293 3.1): addresses, zero, protocol, TCP length. */
	uint64_t sum = sum_words(0, out + ip + IP_ADDRS_AT, IP_ADDRS_BYTES) + IP_PROTO_TCP + tcp_bytes;
	put16(out + tcp + TCP_CSUM_AT, 0);
	put16(out + tcp + TCP_CSUM_AT, fold_complement(sum_words(sum, out + tcp, tcp_bytes)));
	return t->headers + bytes;
}
