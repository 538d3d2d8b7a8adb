/* The virtio-net device (contract in virtio_net.h; virtio 1.1 5.1). */
#include "kernel/vdev/virtio_net.h"

#include <limits.h>
#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/vdev/net_offload.h"

#define MAC_BYTES 6u

static const struct virtio_feature_dep feature_deps[] = {
	/* 5.1.3.1: the announcement is acknowledged on the control queue. */
	{ VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE), VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) },
	/* 5.1.3.1: segmentation needs the checksum offload. */
	{ VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4), VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) },
};

static const struct virtio_mmio_device net_device = {
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) |
		    VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) |
		    VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE) | VIRTIO_FEATURE(VIRTIO_NET_F_CSUM) |
		    VIRTIO_FEATURE(VIRTIO_NET_F_HOST_TSO4),
	.deps = feature_deps,
	.dep_count = sizeof(feature_deps) / sizeof(feature_deps[0]),
	.queue_count = VIRTIO_NET_QUEUES,
	.queue_max = { VIRTIO_NET_DATA_QUEUE_SIZE, VIRTIO_NET_DATA_QUEUE_SIZE, VIRTIO_NET_CTRL_QUEUE_SIZE },
	.config_len = VIRTIO_NET_CONFIG_BYTES,
};

const char *virtio_net_rx_drop_name(enum virtio_net_rx_drop cause)
{
	switch (cause) {
	case VIRTIO_NET_RX_DROP_STOPPED:      return "stopped";
	case VIRTIO_NET_RX_DROP_PAUSED:       return "paused";
	case VIRTIO_NET_RX_DROP_NO_BUFFER:    return "no_buffer";
	case VIRTIO_NET_RX_DROP_SMALL_BUFFER: return "small_buffer";
	case VIRTIO_NET_RX_DROP_BAD_FRAME:    return "bad_frame";
	default:                              return "unknown";
	}
}

const char *virtio_net_tx_drop_name(enum virtio_net_tx_drop cause)
{
	switch (cause) {
	case VIRTIO_NET_TX_DROP_RUNT:     return "runt";
	case VIRTIO_NET_TX_DROP_OVERSIZE: return "oversize";
	case VIRTIO_NET_TX_DROP_PAUSED:   return "paused";
	case VIRTIO_NET_TX_DROP_BAD_OFFLOAD: return "bad_offload";
	default:                          return "unknown";
	}
}

static void update_config(struct virtio_net *n)
{
	memcpy(n->mmio.config + VIRTIO_NET_CONFIG_MAC, n->mac, MAC_BYTES);
	memcpy(n->mmio.config + VIRTIO_NET_CONFIG_STATUS, &n->net_status, sizeof(n->net_status));
}

void virtio_net_init(struct virtio_net *n, const uint8_t mac[6], const struct virtq_ram *ram,
		     virtio_net_send_fn send, void *send_ctx, virtio_mmio_line_fn line,
		     void *line_ctx)
{
	memset(n, 0, sizeof(*n));
	n->ram = *ram;
	memcpy(n->mac, mac, MAC_BYTES);
	n->net_status = VIRTIO_NET_S_LINK_UP;
	n->send = send;
	n->send_ctx = send_ctx;
	virtio_mmio_init(&n->mmio, &net_device, &n->ram, line, line_ctx);
	update_config(n);
}

const char *virtio_net_failure(const struct virtio_net *n)
{
	return n->mmio.failure;
}

/* A ready queue of a running device, else NULL. */
static struct virtq *live_queue(struct virtio_net *n, unsigned index)
{
	return virtio_mmio_running(&n->mmio) ? virtio_mmio_queue(&n->mmio, index) : NULL;
}

static void used_buffers(struct virtio_net *n, const struct virtq *q)
{
	if (!virtq_interrupt_suppressed(q, &n->ram))
		virtio_mmio_interrupt(&n->mmio, VIRTIO_MMIO_INT_USED_BUFFER);
}

/* Pops the next chain of q into c: 1, 0 when none, or -1 after stopping the device. */
static int pop(struct virtio_net *n, struct virtq *q, struct virtq_chain *c)
{
	const char *why;
	int got = virtq_pop(q, &n->ram, c, &why);

	if (got < 0) {
		virtio_mmio_fail(&n->mmio, why);
		return -1;
	}
	return got;
}

static bool push(struct virtio_net *n, struct virtq *q, const struct virtq_chain *c,
		 uint32_t written)
{
	const char *why;

	if (virtq_push(q, &n->ram, c->head, written, &why)) {
		virtio_mmio_fail(&n->mmio, why);
		return false;
	}
	return true;
}

/* ---- receive ----------------------------------------------------------------------------- */

static void rx_drop(struct virtio_net *n, enum virtio_net_rx_drop cause)
{
	n->counters.rx_drops[cause]++;
}

void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	if (len < VIRTIO_NET_MIN_FRAME || len > VIRTIO_NET_MAX_FRAME) {
		rx_drop(n, VIRTIO_NET_RX_DROP_BAD_FRAME);
		return;
	}
	if (n->paused) {
		rx_drop(n, VIRTIO_NET_RX_DROP_PAUSED);
		return;
	}
	struct virtq *q = live_queue(n, VIRTIO_NET_RXQ);
	if (!q) {
		rx_drop(n, VIRTIO_NET_RX_DROP_STOPPED);
		return;
	}
	struct virtq_chain *c = &n->rx_chain;
	int got = pop(n, q, c);
	if (got <= 0) {
		rx_drop(n, got < 0 ? VIRTIO_NET_RX_DROP_STOPPED : VIRTIO_NET_RX_DROP_NO_BUFFER);
		return;
	}
	uint32_t total = VIRTIO_NET_HDR_BYTES + (uint32_t)len;
	if (c->writable < total) {
		virtq_unpop(q);
		rx_drop(n, VIRTIO_NET_RX_DROP_SMALL_BUFFER);
		return;
	}
	/* No offloads: every field zero but num_buffers, which is 1 without mergeable
	 * buffers (5.1.6.4). */
	uint8_t hdr[VIRTIO_NET_HDR_BYTES] = { 0 };
	uint16_t one = 1;
	memcpy(hdr + VIRTIO_NET_HDR_NUM_BUFFERS, &one, sizeof(one));
	virtq_chain_write(c, &n->ram, 0, hdr, sizeof(hdr));
	virtq_chain_write(c, &n->ram, VIRTIO_NET_HDR_BYTES, frame, len);
	if (!push(n, q, c, total)) {
		rx_drop(n, VIRTIO_NET_RX_DROP_STOPPED);
		return;
	}
	n->counters.rx_frames++;
	n->counters.rx_bytes += len;
	used_buffers(n, q);
}

/* ---- transmit ---------------------------------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void tx_drop(struct virtio_net *n, enum virtio_net_tx_drop cause)
{
	n->counters.tx_drops[cause]++;
}

/* What became of a transmit chain. */
enum tx_outcome {
	TX_DONE,         /* sent, or dropped and counted: complete it */
	TX_PORT_BUSY,    /* the port refused a frame: offer the chain again later */
	TX_OUT_OF_BUDGET,/* the pass's budget ran out inside a segmented frame: go on next pass */
};

/* One frame to the port; counted when taken. */
static enum tx_outcome send_frame(struct virtio_net *n, const uint8_t *frame, size_t len)
{
	if (n->send && n->send(n->send_ctx, frame, len) == FERR_BUSY)
		return TX_PORT_BUSY;
	n->counters.tx_frames++;
	n->counters.tx_bytes += len;
	return TX_DONE;
}

/*
 * The frame of chain c to the port, with the offloads its header asks for (5.1.6.2),
 * spending one unit of *budget a frame sent (none is checked while *budget is
 * UINT_MAX: draining). A segmented frame that stops (port busy, budget spent) keeps in
 * n->tx_segments_done where it goes on.
 */
static enum tx_outcome transmit(struct virtio_net *n, const struct virtq_chain *c, unsigned *budget)
{
	uint8_t hdr[VIRTIO_NET_HDR_BYTES];
	const char *why;

	if (c->readable < VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME) {
		tx_drop(n, VIRTIO_NET_TX_DROP_RUNT);
		return TX_DONE;
	}
	size_t len = c->readable - VIRTIO_NET_HDR_BYTES;
	virtq_chain_read(c, &n->ram, 0, hdr, sizeof(hdr));
	uint8_t gso = hdr[VIRTIO_NET_HDR_GSO_TYPE];
	if (len > (gso == VIRTIO_NET_HDR_GSO_NONE ? VIRTIO_NET_MAX_FRAME : VIRTIO_NET_MAX_GSO_FRAME)) {
		tx_drop(n, VIRTIO_NET_TX_DROP_OVERSIZE);
		return TX_DONE;
	}
	virtq_chain_read(c, &n->ram, VIRTIO_NET_HDR_BYTES, n->frame, len);
	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if ((hdr[VIRTIO_NET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    (!virtio_mmio_has_feature(&n->mmio, VIRTIO_NET_F_CSUM) ||
		     net_offload_csum(n->frame, len, le16(hdr + VIRTIO_NET_HDR_CSUM_START),
				      le16(hdr + VIRTIO_NET_HDR_CSUM_OFFSET), &why))) {
			tx_drop(n, VIRTIO_NET_TX_DROP_BAD_OFFLOAD);
			return TX_DONE;
		}
		enum tx_outcome out = send_frame(n, n->frame, len);
		if (out == TX_DONE && *budget != UINT_MAX)
			(*budget)--;
		return out;
	}
	/* The segments get checksums of their own: the partial one asked for is not needed. */
	struct net_tso t;
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 || !virtio_mmio_has_feature(&n->mmio, VIRTIO_NET_F_HOST_TSO4) ||
	    net_tso_prepare(&t, n->frame, len, le16(hdr + VIRTIO_NET_HDR_GSO_SIZE), VIRTIO_NET_MAX_FRAME,
			    &why) || n->tx_segments_done >= t.count) {
		n->tx_segments_done = 0;
		tx_drop(n, VIRTIO_NET_TX_DROP_BAD_OFFLOAD);
		return TX_DONE;
	}
	for (unsigned i = n->tx_segments_done; i < t.count; i++) {
		if (*budget == 0) {
			n->tx_segments_done = i;
			return TX_OUT_OF_BUDGET;
		}
		size_t bytes = net_tso_segment(&t, i, n->segment);
		if (send_frame(n, n->segment, bytes) == TX_PORT_BUSY) {
			n->tx_segments_done = i;
			return TX_PORT_BUSY;
		}
		if (*budget != UINT_MAX)
			(*budget)--;
	}
	n->tx_segments_done = 0;
	n->counters.tx_segmented++;
	return TX_DONE;
}

/*
 * Sends the chains available on the transmit queue, VIRTIO_NET_TX_BUDGET frames at most
 * unless draining (then every chain, whatever it costs: the queue is at most 256 chains).
 * What the budget leaves (even inside a segmented frame) waits in the ring for
 * virtio_net_poll(). While draining for a pause the port's "busy" drops the frame
 * (counted); otherwise it stalls the queue with the chain given back, for
 * virtio_net_poll() or the next notify to retry.
 */
static void process_tx(struct virtio_net *n, bool draining)
{
	struct virtq *q = live_queue(n, VIRTIO_NET_TXQ);
	struct virtq_chain *c = &n->tx_chain;
	unsigned budget = draining ? UINT_MAX : VIRTIO_NET_TX_BUDGET;
	bool used = false;
	const char *why;

	if (!q || (n->paused && !draining))
		return;
	n->tx_stalled = false;
	n->tx_pending = false;
	/* `send` may deliver into this device and find its receive ring broken: stop then. */
	while (virtio_mmio_running(&n->mmio)) {
		if (budget == 0) {
			/* Chains left (or a broken ring, which the next pass's pop stops). */
			if (virtq_avail_count(q, &n->ram, &why) != 0) {
				n->tx_pending = true;
				n->counters.tx_budget_yields++;
			}
			break;
		}
		if (pop(n, q, c) <= 0)
			break;
		enum tx_outcome out = transmit(n, c, &budget);
		if (out == TX_OUT_OF_BUDGET) {
			virtq_unpop(q);
			n->tx_pending = true;
			n->counters.tx_budget_yields++;
			break;
		}
		if (out == TX_PORT_BUSY) {
			if (!draining) {
				virtq_unpop(q);
				n->tx_stalled = true;
				n->counters.tx_stalls++;
				break;
			}
			n->tx_segments_done = 0;
			tx_drop(n, VIRTIO_NET_TX_DROP_PAUSED);
		}
		/* A transmit buffer is only read: nothing written (5.1.6.2). */
		if (!push(n, q, c, 0))
			return;
		used = true;
	}
	if (used)
		used_buffers(n, q);
}

bool virtio_net_poll(struct virtio_net *n)
{
	if (n->tx_stalled || n->tx_pending)
		process_tx(n, false);
	return n->tx_stalled || n->tx_pending;
}

/* ---- control ----------------------------------------------------------------------------- */

/* struct virtio_net_ctrl (5.1.6.5): class and command readable, the ack byte writable. */
static void process_ctrl(struct virtio_net *n)
{
	struct virtq *q = live_queue(n, VIRTIO_NET_CTRLQ);
	struct virtq_chain *c = &n->tx_chain;
	bool used = false;

	if (!q)
		return;
	while (pop(n, q, c) > 0) {
		uint8_t cmd[2];
		uint8_t ack = VIRTIO_NET_ERR;
		if (virtq_chain_read(c, &n->ram, 0, cmd, sizeof(cmd)) == sizeof(cmd) &&
		    cmd[0] == VIRTIO_NET_CTRL_ANNOUNCE && cmd[1] == VIRTIO_NET_CTRL_ANNOUNCE_ACK) {
			ack = VIRTIO_NET_OK;
			n->counters.announce_acks++;
			if (n->net_status & VIRTIO_NET_S_ANNOUNCE) {
				n->net_status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
				update_config(n);
				virtio_mmio_config_changed(&n->mmio, false);
			}
		} else {
			n->counters.ctrl_refused++;
		}
		uint32_t written = (uint32_t)virtq_chain_write(c, &n->ram, 0, &ack, sizeof(ack));
		if (!push(n, q, c, written))
			return;
		used = true;
	}
	if (used)
		used_buffers(n, q);
}

/* ---- the window ---------------------------------------------------------------------------- */

int virtio_net_mmio_read(struct virtio_net *n, uint32_t offset, unsigned size, uint64_t *value)
{
	return virtio_mmio_read(&n->mmio, offset, size, value);
}

int virtio_net_mmio_write(struct virtio_net *n, uint32_t offset, unsigned size, uint64_t value)
{
	struct virtio_mmio_event ev;
	int err = virtio_mmio_write(&n->mmio, offset, size, value, &ev);

	if (err)
		return err;
	switch (ev.kind) {
	case VIRTIO_MMIO_EV_NOTIFY:
		if (ev.queue == VIRTIO_NET_TXQ)
			process_tx(n, false);
		else if (ev.queue == VIRTIO_NET_CTRLQ)
			process_ctrl(n);
		/* Receive buffers wait for frames: nothing to do on queue 0's notify. */
		break;
	case VIRTIO_MMIO_EV_RESET:
		n->tx_stalled = false;
		n->tx_pending = false;
		n->tx_segments_done = 0;
		n->net_status &= (uint16_t)~VIRTIO_NET_S_ANNOUNCE;
		update_config(n);
		break;
	case VIRTIO_MMIO_EV_DRIVER_OK:
		process_tx(n, false);
		break;
	default:
		break;
	}
	return FERR_OK;
}

/* ---- migration --------------------------------------------------------------------------- */

void virtio_net_quiesce(struct virtio_net *n)
{
	n->paused = true;
	process_tx(n, true);
	n->tx_stalled = false;
	n->tx_pending = false;
	n->tx_segments_done = 0;
}

void virtio_net_resume(struct virtio_net *n)
{
	n->paused = false;
	virtio_mmio_repulse(&n->mmio);
	process_tx(n, false);
}

bool virtio_net_announce(struct virtio_net *n)
{
	if (!virtio_mmio_running(&n->mmio) ||
	    !virtio_mmio_has_feature(&n->mmio, VIRTIO_NET_F_GUEST_ANNOUNCE) ||
	    !virtio_mmio_has_feature(&n->mmio, VIRTIO_NET_F_STATUS))
		return false;
	n->net_status |= VIRTIO_NET_S_ANNOUNCE;
	update_config(n);
	virtio_mmio_config_changed(&n->mmio, true);
	n->counters.announces++;
	return true;
}

int virtio_net_save(const struct virtio_net *n, struct virtio_net_state *out)
{
	if (!n->paused)
		return FERR_BUSY;
	memset(out, 0, sizeof(*out));
	virtio_mmio_save(&n->mmio, &out->mmio);
	memcpy(out->mac, n->mac, MAC_BYTES);
	out->net_status = n->net_status;
	return FERR_OK;
}

int virtio_net_check_state(const struct virtio_net *n, const struct virtio_net_state *s,
			   const char **why)
{
	if (memcmp(s->mac, n->mac, MAC_BYTES) != 0) {
		if (why)
			*why = "virtio-net: the saved device has another MAC than this guest's NIC";
		return FERR_INVAL;
	}
	if (s->net_status & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE)) {
		if (why)
			*why = "virtio-net: reserved status bits set";
		return FERR_INVAL;
	}
	return virtio_mmio_check_state(&n->mmio, &s->mmio, why);
}

int virtio_net_load(struct virtio_net *n, const struct virtio_net_state *s, const char **why)
{
	int err = virtio_net_check_state(n, s, why);
	if (err)
		return err;
	err = virtio_mmio_load(&n->mmio, &s->mmio, why);
	if (err)
		return err;
	n->net_status = s->net_status;
	update_config(n);
	n->paused = true;
	n->tx_stalled = false;
	n->tx_pending = false;
	n->tx_segments_done = 0;
	return FERR_OK;
}
