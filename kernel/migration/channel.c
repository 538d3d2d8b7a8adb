/*
 * Message framing and sequence numbers (channel.h).
 */
#include "kernel/migration/channel.h"

#include <string.h>

#include "kernel/lib/errors.h"

void mig_reader_init(struct mig_reader *r, uint8_t *buf, size_t cap)
{
	r->accept = 0;
	r->page_limit = 0;
	r->next_sequence = 0;
	r->messages = 0;
	r->error = 0;
	r->unexpected_type = 0;
	r->phase = MIG_READER_HEADER;
	r->have = 0;
	r->need = MIG_HEADER_BYTES;
	r->buf = buf;
	r->cap = cap;
}

int mig_reader_rebuffer(struct mig_reader *r, uint8_t *buf, size_t cap)
{
	if (r->have > cap || (r->phase == MIG_READER_BODY && r->need > cap))
		return FERR_TOOBIG;
	memmove(buf, r->buf, r->have);
	r->buf = buf;
	r->cap = cap;
	return 0;
}

static int reader_fail(struct mig_reader *r, int err)
{
	r->error = err;
	return err;
}

/*
 * The header is in buf: decides from it alone whether the message is acceptable
 * now (type, flags, length limits, sequence) and how many bytes it needs.
 */
static int reader_header(struct mig_reader *r)
{
	struct mig_header *h = &r->header;
	int err = mig_header_decode(r->buf, h);

	if (err)
		return err;
	if (!(r->accept & MIG_TYPE_BIT(h->type))) {
		r->unexpected_type = h->type;
		return FERR_PROTO;
	}
	if (h->sequence != r->next_sequence)
		return FERR_PROTO;
	r->need = MIG_HEADER_BYTES + h->length;
	if (r->need > r->cap)
		return FERR_TOOBIG;
	r->phase = MIG_READER_BODY;
	return 0;
}

int mig_reader_feed(struct mig_reader *r, const uint8_t *data, size_t len, size_t *used,
		    struct mig_msg *msg)
{
	size_t taken = 0;
	int err;

	*used = 0;
	if (r->error)
		return r->error;
	if (r->phase == MIG_READER_DELIVERED) {
		r->phase = MIG_READER_HEADER;
		r->have = 0;
		r->need = MIG_HEADER_BYTES;
	}
	while (taken < len && r->have < r->need) {
		size_t n = r->need - r->have;
		if (n > len - taken)
			n = len - taken;
		memcpy(r->buf + r->have, data + taken, n);
		r->have += n;
		taken += n;
		if (r->phase == MIG_READER_HEADER && r->have == MIG_HEADER_BYTES) {
			err = reader_header(r);
			if (err) {
				*used = taken;
				return reader_fail(r, err);
			}
		}
	}
	*used = taken;
	if (r->phase != MIG_READER_BODY || r->have < r->need)
		return 0;

	msg->header = r->header;
	msg->payload = r->buf + MIG_HEADER_BYTES;
	err = mig_payload_decode(msg, r->page_limit);
	if (err)
		return reader_fail(r, err);
	r->phase = MIG_READER_DELIVERED;
	r->next_sequence++;
	r->messages++;
	return 1;
}

void mig_writer_init(struct mig_writer *w, uint8_t *buf, size_t cap)
{
	w->next_sequence = 0;
	w->start = w->end = w->unsent = 0;
	w->open = SIZE_MAX;
	w->open_type = 0;
	w->buf = buf;
	w->cap = cap;
}

int mig_writer_rebuffer(struct mig_writer *w, uint8_t *buf, size_t cap)
{
	size_t waiting = w->end - w->start;

	if (w->open != SIZE_MAX)
		return FERR_BUSY;
	if (waiting > cap)
		return FERR_TOOBIG;
	memmove(buf, w->buf + w->start, waiting);
	w->buf = buf;
	w->cap = cap;
	w->unsent -= w->start;
	w->start = 0;
	w->end = waiting;
	return 0;
}

static size_t frame_max(unsigned type)
{
	return MIG_HEADER_BYTES + mig_payload_max(type);
}

bool mig_writer_has_room(const struct mig_writer *w, unsigned type)
{
	size_t waiting = w->end - w->start;

	return w->open == SIZE_MAX && w->cap - waiting >= frame_max(type);
}

uint8_t *mig_writer_begin(struct mig_writer *w, unsigned type)
{
	if (!mig_writer_has_room(w, type))
		return NULL;
	if (w->cap - w->end < frame_max(type)) {
		memmove(w->buf, w->buf + w->start, w->end - w->start);
		w->end -= w->start;
		w->unsent -= w->start;
		w->start = 0;
	}
	w->open = w->end;
	w->open_type = (uint8_t)type;
	return w->buf + w->open + MIG_HEADER_BYTES;
}

size_t mig_writer_end(struct mig_writer *w, size_t payload_len)
{
	struct mig_header h = {
		.type = w->open_type,
		.flags = 0,
		.length = (uint32_t)payload_len,
		.sequence = w->next_sequence++,
	};
	uint8_t *frame = w->buf + w->open;
	size_t size = MIG_HEADER_BYTES + payload_len;

	mig_header_encode(frame, &h);
	w->end = w->open + size;
	w->open = SIZE_MAX;
	return size;
}

void mig_writer_cancel(struct mig_writer *w)
{
	w->open = SIZE_MAX;
	if (w->start == w->end)
		w->start = w->end = w->unsent = 0;
}

/*
 * A finished message's bytes on the wire, read back from its own header (the writer's
 * own, so it decodes; false, were it ever not to, and nothing is taken for a boundary).
 */
static bool written_message(const struct mig_writer *w, size_t at, size_t *size, uint64_t *sequence)
{
	struct mig_header h;

	if (mig_header_decode(w->buf + at, &h))
		return false;
	*size = MIG_HEADER_BYTES + h.length;
	*sequence = h.sequence;
	return true;
}

void mig_writer_drop_unsent(struct mig_writer *w)
{
	size_t size;
	uint64_t first_dropped;

	if (w->open != SIZE_MAX || w->unsent >= w->end ||
	    !written_message(w, w->unsent, &size, &first_dropped))
		return;
	w->next_sequence = first_dropped;
	w->end = w->unsent;
	if (w->start == w->end)
		w->start = w->end = w->unsent = 0;
}

int mig_writer_put(struct mig_writer *w, unsigned type, const void *payload, size_t len)
{
	uint8_t *p = mig_writer_begin(w, type);

	if (!p)
		return FERR_BUSY;
	if (len)
		memcpy(p, payload, len);
	mig_writer_end(w, len);
	return 0;
}

size_t mig_writer_pending(const struct mig_writer *w, const uint8_t **data)
{
	*data = w->buf + w->start;
	return w->end - w->start;
}

void mig_writer_consume(struct mig_writer *w, size_t n)
{
	w->start += n;
	/* The bytes just sent are still in buf: step over the messages they began. */
	while (w->unsent < w->start) {
		size_t size;
		uint64_t sequence;
		if (!written_message(w, w->unsent, &size, &sequence)) {
			w->unsent = w->end;   /* no boundary known: nothing is ever dropped */
			break;
		}
		w->unsent += size;
	}
	if (w->start == w->end && w->open == SIZE_MAX)
		w->start = w->end = w->unsent = 0;
}
