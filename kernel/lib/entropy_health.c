/* Health tests of hardware words and the timing-jitter pool; see entropy_health.h. */
#include "kernel/lib/entropy_health.h"

#include <string.h>

#include "kernel/lib/wipe.h"

#define ALL_ONES 0xFFFFFFFFFFFFFFFFull
#define CHAIN_LABEL "ferry jitter chain"

const char *entropy_word_check(struct entropy_word_check *c, uint64_t word)
{
	bool repeat = c->have_last && word == c->last;

	c->last = word;
	c->have_last = true;
	if (word == ALL_ONES)
		return "returned all ones";
	if (word == 0)
		return "returned all zeros";
	if (repeat)
		return "returned the same word twice in a row";
	return NULL;
}

void jitter_pool_init(struct jitter_pool *p)
{
	memset(p, 0, sizeof(*p));
	blake2s_init(&p->hash, JITTER_OUTPUT_BYTES, NULL, 0);
}

bool jitter_pool_add(struct jitter_pool *p, uint64_t time)
{
	if (p->failed)
		return false;
	uint64_t delta = time - p->last_time;
	uint64_t delta2 = delta - p->last_delta;
	uint64_t delta3 = delta2 - p->last_delta2;
	bool stuck = !p->primed || delta == 0 || delta2 == 0 || delta3 == 0;

	p->last_time = time;
	p->last_delta = delta;
	p->last_delta2 = delta2;
	p->primed = true;
	/* Mixed in whether credited or not: a stuck sample never hurts the output. */
	blake2s_update(&p->hash, &delta, sizeof(delta));
	p->samples++;
	p->samples_total++;
	if (stuck) {
		p->stuck_total++;
		if (++p->stuck_run >= JITTER_RCT_CUTOFF)
			p->failed = true;
		return !p->failed;
	}
	p->stuck_run = 0;
	p->credited++;
	return true;
}

bool jitter_pool_ready(const struct jitter_pool *p)
{
	return !p->failed && p->credited >= JITTER_SAMPLES_PER_OUTPUT;
}

void jitter_pool_output(struct jitter_pool *p, uint8_t out[JITTER_OUTPUT_BYTES])
{
	uint8_t chain[JITTER_OUTPUT_BYTES];

	blake2s_final(&p->hash, out);
	/* The next output's hash starts from this one (never revealed as such: keyed, labelled). */
	blake2s(chain, sizeof(chain), out, JITTER_OUTPUT_BYTES, CHAIN_LABEL, sizeof(CHAIN_LABEL) - 1);
	blake2s_init(&p->hash, JITTER_OUTPUT_BYTES, chain, sizeof(chain));
	secure_wipe(chain, sizeof(chain));
	p->samples = 0;
	p->credited = 0;
}
