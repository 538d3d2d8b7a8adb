/*
 * Framing of the migration stream: a reader that assembles messages from bytes in
 * any split, checks header limits before buffering a payload, verifies sequence
 * numbers and tags, and decodes payloads; and a writer that builds messages in its
 * own buffer, numbers and tags them, and hands out the bytes to send.
 *
 * Sans-IO and portable: no allocation (the buffers are inside the structures).
 */
#ifndef FERRY_MIGRATION_CHANNEL_H
#define FERRY_MIGRATION_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/migration/auth.h"
#include "kernel/migration/wire.h"

struct mig_reader {
	const struct mig_session *session; /* NULL until keys exist: messages untagged */
	bool allow_untagged_abort;         /* until the peer proved the key: an ABORT may be untagged */
	uint64_t page_limit;               /* page numbers must be below this */
	uint64_t next_sequence;
	int error;                         /* sticky */
	size_t have;                       /* bytes of the current message in buf */
	size_t need;                       /* bytes the current message needs in total */
	struct mig_header header;
	uint8_t buf[MIG_FRAME_MAX];
};

void mig_reader_init(struct mig_reader *r);

/*
 * Consumes up to len bytes (*used says how many). Returns 1 with *msg filled
 * (valid until the next call) when a message is complete and valid, 0 when more
 * bytes are needed, or a negative ferry_err (sticky: FERR_TOOBIG for a length over
 * its type's limit, FERR_AUTH for a bad tag, FERR_PROTO otherwise).
 */
int mig_reader_feed(struct mig_reader *r, const uint8_t *data, size_t len, size_t *used,
		    struct mig_msg *msg);

/* Room for two frames, so that one can be built while the previous drains. */
#define MIG_WRITER_CAPACITY (2 * MIG_FRAME_MAX)

struct mig_writer {
	const struct mig_session *session; /* NULL until keys exist */
	uint64_t next_sequence;
	size_t start, end;                 /* bytes [start, end) wait to be sent */
	size_t open;                       /* header offset of the message being built, or SIZE_MAX */
	uint8_t open_type;
	uint64_t bytes_total;              /* every byte ever finished */
	uint8_t buf[MIG_WRITER_CAPACITY];
};

void mig_writer_init(struct mig_writer *w);

/* True when a message of the type's maximum size fits now. */
bool mig_writer_has_room(const struct mig_writer *w, unsigned type);

/*
 * Opens a message; returns where its payload goes (mig_payload_max(type) bytes),
 * or NULL when it does not fit yet or another message is open.
 */
uint8_t *mig_writer_begin(struct mig_writer *w, unsigned type);
/* Closes the open message with payload_len bytes: header, sequence, tag. Returns its wire size. */
size_t mig_writer_end(struct mig_writer *w, size_t payload_len);
/* Opens, fills from payload (may be NULL for an empty one) and closes; 0 or FERR_BUSY. */
int mig_writer_put(struct mig_writer *w, unsigned type, const void *payload, size_t len);

/* Bytes waiting to be sent and where they are. */
size_t mig_writer_pending(const struct mig_writer *w, const uint8_t **data);
void mig_writer_consume(struct mig_writer *w, size_t n);

#endif
