/*
 * The transmit offloads a virtio-net device does for its guest (virtio 1.1 5.1.6.2):
 * completing a partial checksum (VIRTIO_NET_F_CSUM, VIRTIO_NET_HDR_F_NEEDS_CSUM) and
 * cutting one large TCP/IPv4 frame into frames of at most the uplink's size
 * (VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_HDR_GSO_TCPV4), as a NIC's TCP segmentation
 * offload does. Headers: RFC 791 (IPv4), RFC 9293 (TCP), RFC 1071 (the checksum).
 *
 * Why a guest needs them: without them each 1448-byte segment costs the guest a pass
 * through its stack and a notify, and each completion an interrupt (several VM exits);
 * with them one chain carries up to 64 KiB (docs/virtio-net.md, "Throughput").
 *
 * Contract:
 *   - Nothing here trusts the guest: every offset is checked against the frame's length
 *     (refusals are FERR_INVAL with a reason), and the guest's hdr_len is not used (5.1.6.2:
 *     it is a hint); the headers are parsed from the frame itself.
 *   - net_tso_prepare() accepts Ethernet II + IPv4 (options allowed, not a fragment) +
 *     TCP; every segment net_tso_segment() writes gets the IPv4 total length, an
 *     identification incremented per segment, both checksums computed afresh, the sequence
 *     number advanced by the payload before it, and FIN and PSH on the last segment only
 *     (CWR on the first only). A frame whose payload fits one segment is one segment.
 * Portable, allocation-free (tests/unit/test_net_offload.c).
 */
#ifndef FERRY_VDEV_NET_OFFLOAD_H
#define FERRY_VDEV_NET_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Stores the ones' complement of the ones' complement sum of frame[start, len) at
 * frame[start + offset] (big-endian): the field holds the pseudo-header's sum before, as
 * the driver leaves it. FERR_INVAL (with *why) when the field is not inside the summed
 * range.
 */
int net_offload_csum(uint8_t *frame, size_t len, size_t start, size_t offset, const char **why);

struct net_tso {
	const uint8_t *frame;
	size_t len;
	size_t ip;         /* the IPv4 header's offset */
	size_t tcp;        /* the TCP header's offset */
	size_t headers;    /* Ethernet + IPv4 + TCP header bytes, copied into every segment */
	size_t mss;        /* payload bytes a segment (the last may carry fewer) */
	unsigned count;    /* segments */
};

/*
 * Checks that frame[0, len) is a TCP/IPv4 frame to cut into segments of mss payload
 * bytes, none over max_frame bytes; fills t. FERR_INVAL with *why otherwise.
 */
int net_tso_prepare(struct net_tso *t, const uint8_t *frame, size_t len, uint16_t mss,
		    size_t max_frame, const char **why);

/* Writes segment i (< t->count) into out (room for max_frame bytes); returns its length. */
size_t net_tso_segment(const struct net_tso *t, unsigned i, uint8_t *out);

#endif
