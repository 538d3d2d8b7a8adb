/*
 * The virtio-net device's saved-state section (contract in virtio_net.h): one function
 * walks the fields for both directions, so the encoder and the decoder cannot drift
 * apart. Version 1 payload, little-endian, VIRTIO_NET_STATE_BYTES long:
 *   transport: u64 driver_features; u32 status, device_features_sel,
 *              driver_features_sel, queue_sel, interrupt_status, config_generation;
 *   3 queues:  u64 desc, avail, used; u16 size, last_avail, used_idx; u8 ready (0/1);
 *              u8 reserved (0);
 *   device:    u8 mac[6]; u16 status.
 */
#include "kernel/vdev/virtio_net.h"

#include <string.h>

#include "kernel/lib/errors.h"

struct codec {
	uint8_t *buf;      /* encode: output; decode: input (not written) */
	size_t pos;
	bool decode;
	bool bad_flag;     /* decode: a ready or reserved byte out of its range */
};

/* Both ends are x86, whose memory order is the payload's. */
static void field(struct codec *c, void *v, size_t n)
{
	if (c->decode)
		memcpy(v, c->buf + c->pos, n);
	else
		memcpy(c->buf + c->pos, v, n);
	c->pos += n;
}

static void field_flag(struct codec *c, bool *v)
{
	uint8_t byte = *v;
	field(c, &byte, sizeof(byte));
	if (byte > 1)
		c->bad_flag = true;
	*v = byte != 0;
}

static void field_reserved(struct codec *c)
{
	uint8_t zero = 0;
	field(c, &zero, sizeof(zero));
	if (zero)
		c->bad_flag = true;
}

static void walk(struct codec *c, struct virtio_net_state *s)
{
	struct virtio_mmio_state *m = &s->mmio;

	field(c, &m->driver_features, sizeof(m->driver_features));
	field(c, &m->status, sizeof(m->status));
	field(c, &m->device_features_sel, sizeof(m->device_features_sel));
	field(c, &m->driver_features_sel, sizeof(m->driver_features_sel));
	field(c, &m->queue_sel, sizeof(m->queue_sel));
	field(c, &m->interrupt_status, sizeof(m->interrupt_status));
	field(c, &m->config_generation, sizeof(m->config_generation));
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		struct virtq *q = &m->queues[i];
		field(c, &q->desc, sizeof(q->desc));
		field(c, &q->avail, sizeof(q->avail));
		field(c, &q->used, sizeof(q->used));
		field(c, &q->size, sizeof(q->size));
		field(c, &q->last_avail, sizeof(q->last_avail));
		field(c, &q->used_idx, sizeof(q->used_idx));
		field_flag(c, &q->ready);
		field_reserved(c);
	}
	field(c, s->mac, sizeof(s->mac));
	field(c, &s->net_status, sizeof(s->net_status));
}

long virtio_net_state_encode(const struct virtio_net_state *s, uint8_t *buf, size_t cap)
{
	struct virtio_net_state copy = *s;
	struct codec c = { .buf = buf };

	if (cap < VIRTIO_NET_STATE_BYTES)
		return FERR_TOOBIG;
	walk(&c, &copy);
	return (long)c.pos;
}

int virtio_net_state_decode(uint16_t version, const uint8_t *buf, size_t len,
			    struct virtio_net_state *s, const char **why)
{
	struct codec c = { .buf = (uint8_t *)buf, .decode = true };

	if (version != VIRTIO_NET_STATE_VERSION) {
		if (why)
			*why = "virtio-net: a state section version this Ferry does not know";
		return FERR_NOTSUP;
	}
	if (len != VIRTIO_NET_STATE_BYTES) {
		if (why)
			*why = "virtio-net: the state section has the wrong length";
		return FERR_INVAL;
	}
	memset(s, 0, sizeof(*s));
	walk(&c, s);
	if (c.bad_flag) {
		if (why)
			*why = "virtio-net: a queue's ready or reserved byte is out of range";
		return FERR_INVAL;
	}
	return FERR_OK;
}
