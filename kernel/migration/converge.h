/*
 * Whether pre-copy converges on its own, or the guest's writes outrun the link and
 * auto-converge must throttle it (engine_precopy.c; docs/migration.md "Auto-converge").
 *
 * The model: the set a round leaves is a floor plus a share of the round's length,
 *
 *     next = F + r x sent
 *
 * where sent is the round's wire bytes in pages, r the bytes the guest dirties per
 * byte the link carries, and F the pages dirty in any interval however short: the
 * guest's page tables and stack, and what it writes during a round's fixed costs (its
 * round trip, its collect). The sets then settle at F / (1 - r), when r < 1.
 *
 * r is the bytes dirtied over the bytes sent over the rounds since the writer last
 * changed (round 1 on; round 0's alone until round 1 ends). The large early rounds
 * dominate it, where the floor is small beside what the guest wrote; round 0 is left
 * out once others exist, as a guest that rewrites a working set smaller than its RAM
 * dirties no more pages in a long round 0 than in a shorter one. F is the smallest of
 * the last MIG_CONVERGE_WINDOW rounds' residuals, found - r x sent, at least 0.
 *
 * The guest outruns the link when the model's sets never fit (r >= 1, or F / (1 - r)
 * above what fits), or take more than half the rounds left to fit; or when no round
 * has left a set smaller than the smallest so far for MIG_CONVERGE_STALL_ROUNDS
 * rounds: the sets have settled above what fits, whatever the model read. So a guest
 * whose small sets are mostly floor, at a link that clears its writes, is not
 * throttled for noise in those sets; one that settles above the fit is.
 *
 * A throttle changes the writer: mig_converge_writer_changed() starts the model's
 * sums again (the smallest set and the rounds since are kept). Portable, no I/O.
 */
#ifndef FERRY_MIGRATION_CONVERGE_H
#define FERRY_MIGRATION_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

#define MIG_CONVERGE_WINDOW 4         /* rounds the floor is read from */
#define MIG_CONVERGE_STALL_ROUNDS 4   /* rounds with no smaller set: the sets have settled */
#define MIG_CONVERGE_NEVER UINT32_MAX
#define MIG_CONVERGE_PPM 1000000u     /* r's unit: parts per million */

struct mig_converge_sample {
	uint64_t sent_bytes;          /* the round's wire bytes */
	uint64_t found_pages;         /* the set it left */
};

struct mig_converge {
	uint64_t page_wire_bytes;             /* a dirty page's cost on the wire */
	uint64_t dirtied_bytes, sent_bytes;   /* r's sums, since the writer changed */
	bool past_round0;                     /* the sums hold rounds 1 on */
	struct mig_converge_sample recent[MIG_CONVERGE_WINDOW];   /* ring, oldest overwritten */
	uint32_t recorded;                    /* samples in recent[], up to the window */
	uint32_t next;                        /* where the next sample goes */
	uint64_t smallest;                    /* the smallest set a round left (UINT64_MAX: none) */
	uint32_t since_smallest;              /* rounds since it */
};

/* What the model reads of the rounds so far. */
struct mig_converge_model {
	uint64_t ratio_ppm;           /* r; MIG_CONVERGE_PPM or more: the sets do not shrink */
	uint64_t floor_pages;         /* F */
	uint64_t settles_pages;       /* F / (1 - r); UINT64_MAX when r >= 1 */
};

void mig_converge_init(struct mig_converge *c, uint64_t page_wire_bytes);
/* Round `round` sent sent_bytes on the wire and left found_pages dirty. */
void mig_converge_round(struct mig_converge *c, uint32_t round, uint64_t sent_bytes,
			uint64_t found_pages);
/* The guest's write rate changed (a throttle): r and F are read again from the next round. */
void mig_converge_writer_changed(struct mig_converge *c);
void mig_converge_read(const struct mig_converge *c, struct mig_converge_model *m);
/* Rounds until the model's sets, from `dirty`, fit `fit` pages; MIG_CONVERGE_NEVER. */
uint32_t mig_converge_rounds_to_fit(const struct mig_converge_model *m, uint64_t dirty, uint64_t fit);
/* Whether the guest outruns the link, its last set `dirty` and rounds_left to go. */
bool mig_converge_outruns(const struct mig_converge *c, uint64_t dirty, uint64_t fit,
			  uint32_t rounds_left);

#endif
