/*
 * Framing of the migration stream: a reader that assembles messages from bytes in
 * any split, checks header limits before buffering a payload, verifies sequence
 * numbers, and decodes payloads; and a writer that builds messages in its own
 * buffer, numbers them, and hands out the bytes to send. The stream runs inside
 * TLS, which authenticates it (wire.h); the sequence numbers catch a stream that was
 * assembled wrongly.
 *
 * Sans-IO and portable: no allocation. The buffers are the caller's, so that a
 * connection holds a small one until it has accepted a stream of pages.
 */
#ifndef FERRY_MIGRATION_CHANNEL_H
#define FERRY_MIGRATION_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/migration/wire.h"

/*
 * Where the reader is in the current message. HEADER: collecting the 16 header bytes.
 * BODY: the header was parsed and accepted, so how many bytes the message needs is
 * known (exactly 16 for an empty message, which is complete at once).
 * DELIVERED: the message was handed out; the next feed starts a new one.
 */
enum mig_reader_phase { MIG_READER_HEADER, MIG_READER_BODY, MIG_READER_DELIVERED };

struct mig_reader {
	uint32_t accept;                   /* MIG_TYPE_BIT of each type the peer may send now */
	uint64_t page_limit;               /* page numbers must be below this */
	uint64_t next_sequence;
	uint64_t messages;                 /* verified messages delivered: the peer's liveness */
	int error;                         /* sticky */
	uint8_t unexpected_type;           /* a known type refused by `accept` (0: none) */
	enum mig_reader_phase phase;
	size_t have;                       /* bytes of the current message in buf */
	size_t need;                       /* bytes the current message needs in total */
	struct mig_header header;
	uint8_t *buf;                      /* the caller's: a message longer than cap is refused */
	size_t cap;
};

/* A reader buffering into buf[cap] (at least MIG_SMALL_FRAME_MAX), accepting nothing yet. */
void mig_reader_init(struct mig_reader *r, uint8_t *buf, size_t cap);
/* Moves the reader onto a larger buffer, keeping a message it holds. FERR_TOOBIG if it does not fit. */
int mig_reader_rebuffer(struct mig_reader *r, uint8_t *buf, size_t cap);

/*
 * Consumes up to len bytes (*used says how many). Returns 1 with *msg filled
 * (valid until the next call) when a message is complete and valid, 0 when more
 * bytes are needed, or a negative ferry_err (sticky: FERR_TOOBIG for a length over
 * its type's limit or the buffer, FERR_PROTO otherwise, with unexpected_type set when
 * the type is not in `accept`). Whether a message is acceptable (type, flags, length,
 * sequence) is decided from its 16 header bytes, before any payload byte is buffered.
 *
 * Progress: a call with len > 0 consumes at least one byte or fails. Input loops
 * rely on it (and the fuzzers trap on a call that breaks it).
 */
int mig_reader_feed(struct mig_reader *r, const uint8_t *data, size_t len, size_t *used,
		    struct mig_msg *msg);

/* Room for two frames, so that one can be built while the previous drains. */
#define MIG_WRITER_CAPACITY (2 * MIG_FRAME_MAX)
/* A writer of small messages only (the handshake, a query, everything a destination sends). */
#define MIG_SMALL_WRITER_CAPACITY (3 * MIG_SMALL_FRAME_MAX)

struct mig_writer {
	uint64_t next_sequence;
	size_t start, end;                 /* bytes [start, end) wait to be sent */
	size_t unsent;                     /* first whole message not begun on the wire (start..end) */
	size_t open;                       /* header offset of the message being built, or SIZE_MAX */
	uint8_t open_type;
	uint8_t *buf;                      /* the caller's */
	size_t cap;
};

void mig_writer_init(struct mig_writer *w, uint8_t *buf, size_t cap);
/*
 * Moves the writer onto another buffer, keeping the bytes that wait to be sent;
 * FERR_BUSY while a message is open, FERR_TOOBIG if they do not fit.
 */
int mig_writer_rebuffer(struct mig_writer *w, uint8_t *buf, size_t cap);

/* True when a message of the type's maximum size fits now. */
bool mig_writer_has_room(const struct mig_writer *w, unsigned type);

/*
 * Opens a message; returns where its payload goes (mig_payload_max(type) bytes),
 * or NULL when it does not fit yet or another message is open.
 */
uint8_t *mig_writer_begin(struct mig_writer *w, unsigned type);
/* Closes the open message with payload_len bytes: header and sequence. Returns its wire size. */
size_t mig_writer_end(struct mig_writer *w, size_t payload_len);
/* Drops the open message (nothing of it is sent). */
void mig_writer_cancel(struct mig_writer *w);
/* Opens, fills from payload (may be NULL for an empty one) and closes; 0 or FERR_BUSY. */
int mig_writer_put(struct mig_writer *w, unsigned type, const void *payload, size_t len);

/*
 * Drops the queued messages no byte of which has been sent (the one under way stays,
 * since the peer's reader is in the middle of it) and takes their sequence numbers
 * back: what is queued next follows at once. For a last word (ABORT) that must not
 * wait behind pages nobody will use. The open message, if any, must be cancelled first.
 */
void mig_writer_drop_unsent(struct mig_writer *w);

/* Bytes waiting to be sent and where they are. */
size_t mig_writer_pending(const struct mig_writer *w, const uint8_t **data);
void mig_writer_consume(struct mig_writer *w, size_t n);

#endif
