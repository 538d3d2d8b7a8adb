/* The BLAKE2s counter-mode generator with fast key erasure; see csprng.h. */
#include "kernel/lib/csprng.h"

#include <string.h>

#include "kernel/lib/blake2s.h"
#include "kernel/lib/wipe.h"

#define COUNTER_BYTES 8

/* One PRF block: BLAKE2s(key; counter as 8 little-endian bytes), then the counter steps. */
static void block(struct csprng *g, uint8_t out[BLAKE2S_OUT_BYTES])
{
	uint8_t counter[COUNTER_BYTES];

	for (unsigned i = 0; i < COUNTER_BYTES; i++)
		counter[i] = (uint8_t)(g->counter >> (8 * i));
	g->counter++;
	blake2s(out, BLAKE2S_OUT_BYTES, g->key, sizeof(g->key), counter, sizeof(counter));
}

void csprng_seed(struct csprng *g, const uint8_t seed[CSPRNG_KEY_BYTES])
{
	uint8_t next[CSPRNG_KEY_BYTES];

	blake2s(next, sizeof(next), seed, CSPRNG_KEY_BYTES, g->key, sizeof(g->key));
	memcpy(g->key, next, sizeof(g->key));
	secure_wipe(next, sizeof(next));
	g->seeded = true;
	g->since_seed = 0;
}

bool csprng_needs_seed(const struct csprng *g)
{
	return !g->seeded || g->since_seed >= CSPRNG_RESEED_BYTES;
}

void csprng_fill(struct csprng *g, void *out, size_t len)
{
	uint8_t buf[BLAKE2S_OUT_BYTES];
	uint8_t *p = out;

	g->since_seed += len;
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		block(g, buf);
		memcpy(p, buf, n);
		p += n;
		len -= n;
	}
	/* Fast key erasure: the key that made this output is gone. */
	block(g, buf);
	memcpy(g->key, buf, sizeof(g->key));
	secure_wipe(buf, sizeof(buf));
}
