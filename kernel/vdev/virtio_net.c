/* The virtio-net device (contract in virtio_net.h; virtio 1.1 5.1). */
#include "kernel/vdev/virtio_net.h"

#include <string.h>

#include "kernel/lib/errors.h"

#define MAC_BYTES 6u

static const struct virtio_feature_dep feature_deps[] = {
	/* 5.1.3.1: the announcement is acknowledged on the control queue. */
	{ VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE), VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) },
};

static const struct virtio_mmio_device net_device = {
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_FEATURE(VIRTIO_F_VERSION_1) | VIRTIO_FEATURE(VIRTIO_NET_F_MAC) |
		    VIRTIO_FEATURE(VIRTIO_NET_F_STATUS) | VIRTIO_FEATURE(VIRTIO_NET_F_CTRL_VQ) |
		    VIRTIO_FEATURE(VIRTIO_NET_F_GUEST_ANNOUNCE),
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

/*
 * Sends the chains available on the transmit queue, VIRTIO_NET_TX_BUDGET at most unless
 * draining (then every chain: the queue holds 256 at most); what the budget leaves waits
 * in the ring for virtio_net_poll(). While draining for a pause the port's "busy" drops
 * the frame (counted); otherwise it stalls the queue with the chain given back, for
 * virtio_net_poll() or the next notify to retry.
 */
static void process_tx(struct virtio_net *n, bool draining)
{
	struct virtq *q = live_queue(n, VIRTIO_NET_TXQ);
	struct virtq_chain *c = &n->tx_chain;
	unsigned taken = 0;   /* chains this pass */
	bool used = false;
	const char *why;

	if (!q || (n->paused && !draining))
		return;
	n->tx_stalled = false;
	n->tx_pending = false;
	/* `send` may deliver into this device and find its receive ring broken: stop then. */
	while (virtio_mmio_running(&n->mmio)) {
		if (!draining && taken == VIRTIO_NET_TX_BUDGET) {
			/* Chains left (or a broken ring, which the next pass's pop stops). */
			if (virtq_avail_count(q, &n->ram, &why) != 0) {
				n->tx_pending = true;
				n->counters.tx_budget_yields++;
			}
			break;
		}
		if (pop(n, q, c) <= 0)
			break;
		taken++;
		uint32_t readable = c->readable;
		if (readable < VIRTIO_NET_HDR_BYTES + VIRTIO_NET_MIN_FRAME) {
			n->counters.tx_drops[VIRTIO_NET_TX_DROP_RUNT]++;
		} else if (readable - VIRTIO_NET_HDR_BYTES > VIRTIO_NET_MAX_FRAME) {
			n->counters.tx_drops[VIRTIO_NET_TX_DROP_OVERSIZE]++;
		} else {
			size_t len = readable - VIRTIO_NET_HDR_BYTES;
			virtq_chain_read(c, &n->ram, VIRTIO_NET_HDR_BYTES, n->frame, len);
			int err = n->send ? n->send(n->send_ctx, n->frame, len) : FERR_OK;
			if (err == FERR_BUSY && !draining) {
				virtq_unpop(q);
				n->tx_stalled = true;
				n->counters.tx_stalls++;
				break;
			}
			if (err == FERR_BUSY) {
				n->counters.tx_drops[VIRTIO_NET_TX_DROP_PAUSED]++;
			} else {
				n->counters.tx_frames++;
				n->counters.tx_bytes += len;
			}
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
	return FERR_OK;
}
