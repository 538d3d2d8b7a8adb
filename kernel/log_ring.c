/* A byte ring keeping recent output; see log_ring.h for the contract. */
#include "kernel/log_ring.h"

void log_ring_init(struct log_ring *ring, char *buf, size_t size)
{
	ring->buf = buf;
	ring->size = size;
	ring->written = 0;
}

void log_ring_write(struct log_ring *ring, const char *data, size_t len)
{
	if (len > ring->size) {
		/* Only the tail can survive; account for the bytes skipped. */
		ring->written += len - ring->size;
		data += len - ring->size;
		len = ring->size;
	}
	for (size_t i = 0; i < len; i++)
		ring->buf[(ring->written + i) % ring->size] = data[i];
	ring->written += len;
}

uint64_t log_ring_oldest(const struct log_ring *ring)
{
	return ring->written > ring->size ? ring->written - ring->size : 0;
}

size_t log_ring_read(const struct log_ring *ring, uint64_t *pos, char *out, size_t max)
{
	uint64_t oldest = log_ring_oldest(ring);
	size_t n = 0;

	if (*pos < oldest)
		*pos = oldest;
	while (n < max && *pos < ring->written) {
		out[n++] = ring->buf[*pos % ring->size];
		(*pos)++;
	}
	return n;
}
