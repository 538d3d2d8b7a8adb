/*
 * The stream checksum in DONE: a 64-bit hash over every page record and the state
 * blob, in stream order, kept by both ends (the source as it encodes, the destination
 * as it decodes) and compared before READY. It guards against a stream that was
 * assembled wrongly (lost, doubled or misplaced records, codec bugs), end to end, at a
 * few bytes per cycle; it is not a security mechanism: the channel's TLS is.
 *
 * Four 64-bit lanes take the input's 8-byte words in turn, each step
 * lane = rotl(lane + word * K2, 31) * K1; the result mixes the lanes and the length.
 * What goes in, the same on both ends: each page record as the wire has it (its
 * header, then the data of a FULL page), then the state blob after its u64 length.
 * Portable.
 */
#ifndef FERRY_MIGRATION_STREAM_SUM_H
#define FERRY_MIGRATION_STREAM_SUM_H

#include <stddef.h>
#include <stdint.h>

struct mig_stream_sum {
	uint64_t lane[4];
	uint64_t words;
	uint64_t bytes;
};

void mig_stream_sum_init(struct mig_stream_sum *s);
/* Adds len bytes; a tail of fewer than 8 bytes is taken as one zero-padded word. */
void mig_stream_sum_update(struct mig_stream_sum *s, const void *data, size_t len);
uint64_t mig_stream_sum_final(const struct mig_stream_sum *s);

/* Adds one page record (data NULL: a zero-page marker). */
void mig_stream_sum_page(struct mig_stream_sum *s, uint32_t page, const uint8_t *data);
/* Adds the state blob, after its length. */
void mig_stream_sum_state(struct mig_stream_sum *s, const uint8_t *blob, size_t len);

#endif
