/*
 * A byte ring that keeps the most recent output of something: Ferry's boot log
 * (`dmesg`) and each guest's console (`console NAME`). Portable (image and host).
 *
 * Writes never fail: when the ring is full the oldest bytes are overwritten.
 * Readers copy out by absolute position (bytes written since creation), so a
 * reader can follow the ring and learn how much it missed.
 */
#ifndef FERRY_LOG_RING_H
#define FERRY_LOG_RING_H

#include <stddef.h>
#include <stdint.h>

struct log_ring {
	char *buf;
	size_t size;       /* capacity in bytes */
	uint64_t written;  /* bytes ever written */
};

void log_ring_init(struct log_ring *ring, char *buf, size_t size);
void log_ring_write(struct log_ring *ring, const char *data, size_t len);

/* Oldest absolute position still held. */
uint64_t log_ring_oldest(const struct log_ring *ring);

/*
 * Copies up to max bytes from absolute position *pos (moved up to the oldest
 * held byte first) into out, advances *pos, and returns the count copied.
 */
size_t log_ring_read(const struct log_ring *ring, uint64_t *pos, char *out, size_t max);

#endif
