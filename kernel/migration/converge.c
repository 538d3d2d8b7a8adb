/* The convergence model of pre-copy's dirty sets; see converge.h. */
#include "kernel/migration/converge.h"

/* A projection of more rounds than this counts as never. */
#define PROJECTION_MAX_ROUNDS 64u
/* r above this is as good as infinite, and keeps the products below in 64 bits. */
#define RATIO_MAX_PPM (64ull * MIG_CONVERGE_PPM)

void mig_converge_init(struct mig_converge *c, uint64_t page_wire_bytes)
{
	*c = (struct mig_converge){ 0 };
	c->page_wire_bytes = page_wire_bytes ? page_wire_bytes : 1;
	c->smallest = UINT64_MAX;
}

void mig_converge_writer_changed(struct mig_converge *c)
{
	c->dirtied_bytes = 0;
	c->sent_bytes = 0;
	c->recorded = 0;
	c->next = 0;
	c->past_round0 = true;
}

void mig_converge_round(struct mig_converge *c, uint32_t round, uint64_t sent_bytes,
			uint64_t found_pages)
{
	uint64_t dirtied = found_pages * c->page_wire_bytes;

	if (found_pages < c->smallest) {
		c->smallest = found_pages;
		c->since_smallest = 0;
	} else {
		c->since_smallest++;
	}
	if (round == 0) {
		c->dirtied_bytes = dirtied;
		c->sent_bytes = sent_bytes;
		return;
	}
	if (!c->past_round0) {          /* round 0 leaves r once a later round can give it */
		c->dirtied_bytes = 0;
		c->sent_bytes = 0;
		c->past_round0 = true;
	}
	c->dirtied_bytes += dirtied;
	c->sent_bytes += sent_bytes;
	c->recent[c->next] = (struct mig_converge_sample){ sent_bytes, found_pages };
	c->next = (c->next + 1) % MIG_CONVERGE_WINDOW;
	if (c->recorded < MIG_CONVERGE_WINDOW)
		c->recorded++;
}

static uint64_t ratio_ppm(const struct mig_converge *c)
{
	uint64_t dirtied = c->dirtied_bytes, sent = c->sent_bytes;

	if (!sent)
		return dirtied ? RATIO_MAX_PPM : 0;
	while (dirtied > UINT64_MAX / MIG_CONVERGE_PPM) {
		dirtied >>= 1;
		sent >>= 1;
	}
	if (!sent)
		return RATIO_MAX_PPM;
	uint64_t r = dirtied * MIG_CONVERGE_PPM / sent;
	return r > RATIO_MAX_PPM ? RATIO_MAX_PPM : r;
}

/* Pages r dirties while `sent_bytes` go out. */
static uint64_t dirtied_pages(const struct mig_converge *c, uint64_t ratio, uint64_t sent_bytes)
{
	uint64_t pages = sent_bytes / c->page_wire_bytes;

	return pages * ratio / MIG_CONVERGE_PPM;
}

void mig_converge_read(const struct mig_converge *c, struct mig_converge_model *m)
{
	m->ratio_ppm = ratio_ppm(c);
	m->floor_pages = UINT64_MAX;
	for (uint32_t i = 0; i < c->recorded; i++) {
		const struct mig_converge_sample *s = &c->recent[i];
		uint64_t rate_part = dirtied_pages(c, m->ratio_ppm, s->sent_bytes);
		uint64_t residual = s->found_pages > rate_part ? s->found_pages - rate_part : 0;
		if (residual < m->floor_pages)
			m->floor_pages = residual;
	}
	if (m->floor_pages == UINT64_MAX)
		m->floor_pages = 0;
	m->settles_pages = m->ratio_ppm >= MIG_CONVERGE_PPM ? UINT64_MAX
		: m->floor_pages * MIG_CONVERGE_PPM / (MIG_CONVERGE_PPM - m->ratio_ppm);
}

uint32_t mig_converge_rounds_to_fit(const struct mig_converge_model *m, uint64_t dirty, uint64_t fit)
{
	uint32_t rounds = 0;

	if (dirty <= fit)
		return 0;
	if (m->settles_pages > fit)
		return MIG_CONVERGE_NEVER;
	while (dirty > fit) {
		if (++rounds > PROJECTION_MAX_ROUNDS)
			return MIG_CONVERGE_NEVER;
		dirty = m->floor_pages + dirty * m->ratio_ppm / MIG_CONVERGE_PPM;
	}
	return rounds;
}

bool mig_converge_outruns(const struct mig_converge *c, uint64_t dirty, uint64_t fit,
			  uint32_t rounds_left)
{
	struct mig_converge_model m;

	if (c->smallest != UINT64_MAX && c->since_smallest >= MIG_CONVERGE_STALL_ROUNDS)
		return true;
	mig_converge_read(c, &m);
	uint32_t rounds = mig_converge_rounds_to_fit(&m, dirty, fit);
	return rounds == MIG_CONVERGE_NEVER || rounds > rounds_left / 2;
}
