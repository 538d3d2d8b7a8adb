/*
 * A virtio-net device (virtio 1.1 section 5.1) behind the virtio-mmio transport
 * (virtio_mmio.h): one receive queue (0), one transmit queue (1) and a control queue
 * (2) that carries only the announcement acknowledge.
 *
 * Offered: VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS (link up), and
 * VIRTIO_NET_F_GUEST_ANNOUNCE with VIRTIO_NET_F_CTRL_VQ, which it requires (5.1.3.1;
 * Linux refuses the device otherwise): after a migration the guest sends its own
 * gratuitous ARP and neighbour advertisements. Not offered: indirect descriptors, the
 * event index, mergeable buffers, checksum and segmentation offloads, multiqueue, receive
 * filtering, MAC changes. So a frame is at most VIRTIO_NET_MAX_FRAME bytes after the
 * 12-byte struct virtio_net_hdr_v1 (5.1.6), each way.
 *
 * The guest's side is the MMIO window: virtio_net_mmio_read/write() (a queue notify
 * runs the queue there and then). The host's side:
 *   - transmit: each chain the guest makes available on queue 1 becomes one frame handed
 *     to `send` (the switch port); FERR_BUSY from it leaves the chain in the ring and
 *     stalls the queue until virtio_net_poll() or the next notify retries it. One pass (a
 *     notify, a poll) sends at most VIRTIO_NET_TX_BUDGET frames: the rest waits in the
 *     ring for the next virtio_net_poll(), so a guest flooding its queue cannot hold the
 *     host for longer than a pass (counted: tx_budget_yields);
 *   - receive: virtio_net_receive() writes a frame into the next posted buffer, or drops
 *     it with a counted cause (device stopped or paused, no buffer, buffer too small,
 *     bad length); a buffer too small for the frame stays posted. It may be called from
 *     inside `send` (a reply from Ferry's own stack comes back at once);
 *   - the interrupt line goes to `line` (see virtio_mmio.h); counters per cause.
 * A guest that breaks a ring or transport rule stops its own device (DEVICE_NEEDS_RESET,
 * virtio_net_failure() says why) until it resets it; nothing outside the guest's RAM is
 * touched, and every device write into guest RAM is reported to the RAM's dirty hook.
 *
 * Live migration: virtio_net_quiesce() at the pause (stop taking frames, complete every
 * transmit chain, so no descriptor is in flight; call it before the last dirty
 * collection), virtio_net_save() into a versioned section (virtio_net_state_encode),
 * on the destination virtio_net_state_decode() and virtio_net_load() (validated against
 * guest RAM first, as QEMU's virtio_load does), then virtio_net_resume() at GO and
 * virtio_net_announce(). On the source after a failed migration, virtio_net_resume().
 *
 * Portable (image and host; tests/unit/test_virtio_net.c, tests/fuzz/fuzz_virtio_net.c).
 */
#ifndef FERRY_VDEV_VIRTIO_NET_H
#define FERRY_VDEV_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/vdev/virtio_mmio.h"
#include "kernel/vdev/virtqueue.h"

#define VIRTIO_ID_NET 1u

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_MAC            5u
#define VIRTIO_NET_F_STATUS         16u
#define VIRTIO_NET_F_CTRL_VQ        17u
#define VIRTIO_NET_F_GUEST_ANNOUNCE 21u

/* Configuration space (5.1.4): mac[6], then le16 status. */
#define VIRTIO_NET_CONFIG_MAC    0u
#define VIRTIO_NET_CONFIG_STATUS 6u
#define VIRTIO_NET_CONFIG_BYTES  8u
#define VIRTIO_NET_S_LINK_UP  0x1u
#define VIRTIO_NET_S_ANNOUNCE 0x2u

/* Queues, in the order a driver without multiqueue finds them (5.1.2). */
#define VIRTIO_NET_RXQ  0u
#define VIRTIO_NET_TXQ  1u
#define VIRTIO_NET_CTRLQ 2u
#define VIRTIO_NET_QUEUES 3u
#define VIRTIO_NET_DATA_QUEUE_SIZE 256u
#define VIRTIO_NET_CTRL_QUEUE_SIZE 64u

/* struct virtio_net_hdr_v1 (5.1.6): flags, gso_type, hdr_len, gso_size, csum_start,
 * csum_offset, num_buffers; 12 bytes whenever VIRTIO_F_VERSION_1 is negotiated. */
#define VIRTIO_NET_HDR_BYTES 12u
#define VIRTIO_NET_HDR_NUM_BUFFERS 10u

/* Ethernet frames, no FCS: a header at least, and a 1500-byte payload at most (the
 * uplink's limit, NIC_MAX_FRAME in drivers/nic.h). */
#define VIRTIO_NET_MIN_FRAME 14u
#define VIRTIO_NET_MAX_FRAME 1514u

/* Frames the port gets in one transmit pass at most (a notify or a poll). */
#define VIRTIO_NET_TX_BUDGET 64u

/* The control queue's one command (5.1.6.5.4). */
#define VIRTIO_NET_CTRL_ANNOUNCE     3u
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK 0u
#define VIRTIO_NET_OK  0u
#define VIRTIO_NET_ERR 1u

enum virtio_net_rx_drop {
	VIRTIO_NET_RX_DROP_STOPPED,      /* the driver has not started the device, or it needs a reset */
	VIRTIO_NET_RX_DROP_PAUSED,       /* quiesced for a migration */
	VIRTIO_NET_RX_DROP_NO_BUFFER,    /* no receive buffer posted */
	VIRTIO_NET_RX_DROP_SMALL_BUFFER, /* the next posted buffer cannot hold the frame */
	VIRTIO_NET_RX_DROP_BAD_FRAME,    /* shorter than an Ethernet header or over the maximum */
	VIRTIO_NET_RX_DROP_COUNT
};

enum virtio_net_tx_drop {
	VIRTIO_NET_TX_DROP_RUNT,         /* less than an Ethernet header after the virtio header */
	VIRTIO_NET_TX_DROP_OVERSIZE,     /* over VIRTIO_NET_MAX_FRAME */
	VIRTIO_NET_TX_DROP_PAUSED,       /* the port was busy while the device quiesced */
	VIRTIO_NET_TX_DROP_COUNT
};

/* Stable short names for vminfo: "stopped", "paused", "no_buffer"... */
const char *virtio_net_rx_drop_name(enum virtio_net_rx_drop cause);
const char *virtio_net_tx_drop_name(enum virtio_net_tx_drop cause);

struct virtio_net_counters {
	uint64_t rx_frames, rx_bytes;    /* frames written into the guest (bytes without header) */
	uint64_t tx_frames, tx_bytes;    /* frames the guest sent and the port took */
	uint64_t rx_drops[VIRTIO_NET_RX_DROP_COUNT];
	uint64_t tx_drops[VIRTIO_NET_TX_DROP_COUNT];
	uint64_t tx_stalls;              /* times the port said busy */
	uint64_t tx_budget_yields;       /* passes that stopped at VIRTIO_NET_TX_BUDGET with chains left */
	uint64_t announces;              /* announcements asked of the guest */
	uint64_t announce_acks;
	uint64_t ctrl_refused;           /* control commands answered VIRTIO_NET_ERR */
};

/* Hands one frame to the switch port: 0 when taken (or dropped there), FERR_BUSY to be
 * asked again later. */
typedef int (*virtio_net_send_fn)(void *ctx, const uint8_t *frame, size_t len);

struct virtio_net {
	struct virtio_mmio mmio;
	struct virtq_ram ram;
	uint8_t mac[6];
	uint16_t net_status;
	bool paused;           /* quiesced: no frames taken either way */
	bool tx_stalled;       /* the port was busy: a chain waits in the ring */
	bool tx_pending;       /* a pass stopped at its budget: chains wait in the ring */
	virtio_net_send_fn send;
	void *send_ctx;
	struct virtio_net_counters counters;
	/* Scratch. Receive has its own chain: a frame sent may come straight back to this
	 * guest (Ferry's own stack answering it) while its transmit chain is still open. */
	struct virtq_chain rx_chain;
	struct virtq_chain tx_chain;          /* transmit and control chains */
	uint8_t frame[VIRTIO_NET_MAX_FRAME];  /* a transmitted frame */
};

/* A device in its power-on state, link up, with `mac` (the switch port validated it). */
void virtio_net_init(struct virtio_net *n, const uint8_t mac[6], const struct virtq_ram *ram,
		     virtio_net_send_fn send, void *send_ctx, virtio_mmio_line_fn line,
		     void *line_ctx);

/* An MMIO exit in the device's window: offset in it, size 1, 2, 4 or 8. FERR_INVAL only
 * for an access the window cannot hold (the caller stops the guest). */
int virtio_net_mmio_read(struct virtio_net *n, uint32_t offset, unsigned size, uint64_t *value);
int virtio_net_mmio_write(struct virtio_net *n, uint32_t offset, unsigned size, uint64_t value);

/* A frame from the switch for this guest. */
void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len);
/* Goes on with a transmit queue that was stalled or stopped at its budget (one more
 * pass); returns true while chains still wait. */
bool virtio_net_poll(struct virtio_net *n);

/* Why the device stopped itself (DEVICE_NEEDS_RESET), or NULL. */
const char *virtio_net_failure(const struct virtio_net *n);

/* Migration: see above. */
void virtio_net_quiesce(struct virtio_net *n);
void virtio_net_resume(struct virtio_net *n);
/* Asks the guest to announce itself when it negotiated VIRTIO_NET_F_GUEST_ANNOUNCE;
 * returns whether it was asked. */
bool virtio_net_announce(struct virtio_net *n);

/* The device's section of a saved guest: the transport and the device's status. */
#define VIRTIO_NET_STATE_VERSION 1u
#define VIRTIO_NET_STATE_BYTES   136u

struct virtio_net_state {
	struct virtio_mmio_state mmio;
	uint8_t mac[6];
	uint16_t net_status;
};

/* The state of a quiesced device; FERR_BUSY when it was not quiesced. */
int virtio_net_save(const struct virtio_net *n, struct virtio_net_state *out);
/* Validates a state for this device and its guest RAM (same MAC, features it offers,
 * every ready queue inside RAM with its indices consistent). */
int virtio_net_check_state(const struct virtio_net *n, const struct virtio_net_state *s,
			   const char **why);
/* Checks, then loads; the device stays quiesced until virtio_net_resume(). */
int virtio_net_load(struct virtio_net *n, const struct virtio_net_state *s, const char **why);

/* The section's payload, little-endian, VIRTIO_NET_STATE_BYTES long: encode returns the
 * length or FERR_TOOBIG; decode accepts VIRTIO_NET_STATE_VERSION only (FERR_NOTSUP for
 * another) and the exact length (FERR_INVAL). */
long virtio_net_state_encode(const struct virtio_net_state *s, uint8_t *buf, size_t cap);
int virtio_net_state_decode(uint16_t version, const uint8_t *buf, size_t len,
			    struct virtio_net_state *s, const char **why);

#endif
