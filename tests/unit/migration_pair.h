/*
 * A source and a destination protocol machine (kernel/migration/proto.h) joined by
 * hand, for host tests of the protocol (test_migration_proto.c, test_migration_reader.c):
 * to_dst() and to_src() move every pending byte across and return the receiving
 * machine's first input result. Header-only, one pair per test binary.
 */
#ifndef FERRY_TESTS_MIGRATION_PAIR_H
#define FERRY_TESTS_MIGRATION_PAIR_H

#include "kernel/migration/proto.h"

#define PAIR_UNUSED __attribute__((unused))

static PAIR_UNUSED bool always(void *ctx, uint64_t mib) { (void)ctx; (void)mib; return true; }
static PAIR_UNUSED bool name_free(void *ctx, const char *name) { (void)ctx; (void)name; return true; }

static struct mig_src src;
static struct mig_dst dst;
/* The page stream's buffers, the caller's (mig_src_offer, mig_dst_accept). */
static PAIR_UNUSED uint8_t src_stream[MIG_WRITER_CAPACITY], dst_stream[MIG_FRAME_MAX];

/* Moves every pending byte from src to dst; returns dst's first event result. */
static PAIR_UNUSED int to_dst(struct mig_dst_event *ev)
{
	const uint8_t *p;
	size_t len = mig_src_pending(&src, &p), used;
	int rc = mig_dst_input(&dst, p, len, &used, ev);
	mig_src_consume(&src, used);
	return rc;
}

static PAIR_UNUSED int to_src(struct mig_src_event *ev)
{
	const uint8_t *p;
	size_t len = mig_dst_pending(&dst, &p), used;
	int rc = mig_src_input(&src, p, len, &used, ev);
	mig_dst_consume(&dst, used);
	return rc;
}

static PAIR_UNUSED void pair_fini(void)
{
	mig_src_fini(&src);
	mig_dst_fini(&dst);
}

#endif
