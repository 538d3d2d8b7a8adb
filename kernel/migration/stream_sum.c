/*
 * The stream checksum (stream_sum.h), and what both protocol ends feed it.
 */
#include "kernel/migration/stream_sum.h"

#include <string.h>

#include "kernel/migration/wire.h"

/* Odd 64-bit constants with well-spread bits (from the golden ratio and sqrt(3)). */
#define SUM_K1 0x9e3779b97f4a7c15ull
#define SUM_K2 0xbb67ae8584caa73bull
#define SUM_K3 0x94d049bb133111ebull

static uint64_t rotl(uint64_t v, unsigned n)
{
	return (v << n) | (v >> (64 - n));
}

void mig_stream_sum_init(struct mig_stream_sum *s)
{
	for (unsigned i = 0; i < 4; i++)
		s->lane[i] = SUM_K1 * (i + 1);
	s->words = 0;
	s->bytes = 0;
}

static void take(struct mig_stream_sum *s, uint64_t word)
{
	uint64_t *lane = &s->lane[s->words++ & 3];

	*lane = rotl(*lane + word * SUM_K2, 31) * SUM_K1;
}

void mig_stream_sum_update(struct mig_stream_sum *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t word;

	s->bytes += len;
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&word, p, 8);
		take(s, word);
	}
	if (len) {
		word = 0;
		memcpy(&word, p, len);
		take(s, word);
	}
}

uint64_t mig_stream_sum_final(const struct mig_stream_sum *s)
{
	uint64_t h = rotl(s->lane[0], 1) + rotl(s->lane[1], 7) + rotl(s->lane[2], 12) +
		     rotl(s->lane[3], 18);

	h ^= s->bytes * SUM_K3;
	h ^= h >> 31;
	h *= SUM_K2;
	h ^= h >> 29;
	h *= SUM_K3;
	h ^= h >> 32;
	return h;
}

void mig_stream_sum_page(struct mig_stream_sum *s, uint32_t page, const uint8_t *data)
{
	uint8_t record[MIG_PAGE_RECORD_HEADER];

	mig_encode_page(record, page, NULL);
	record[4] = data ? MIG_PAGE_FULL : MIG_PAGE_ZERO;
	mig_stream_sum_update(s, record, sizeof(record));
	if (data)
		mig_stream_sum_update(s, data, MIG_PAGE_SIZE);
}

void mig_stream_sum_state(struct mig_stream_sum *s, const uint8_t *blob, size_t len)
{
	uint8_t length[8];

	mig_put64(length, len);
	mig_stream_sum_update(s, length, sizeof(length));
	mig_stream_sum_update(s, blob, len);
}
