/*
 * The migration protocol against hostile bytes (issue 12 items 1, 2 and 12): the
 * 17-byte stall, what each side accepts before and after the handshake, decided from
 * the 16 header bytes, the progress rule of every feed, the in-doubt query, and
 * input after the guest resumed. Sans-IO: the machines of proto.h and the reader of
 * channel.h only.
 */
#include "tests/unit/check.h"

#include "kernel/lib/errors.h"
#include "kernel/migration/channel.h"
#include "kernel/migration/proto.h"
#include "tests/unit/migration_pair.h"

#define KEY "correct horse battery staple"

static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1, 2, 3 };
static const uint8_t nonce_b[MIG_NONCE_BYTES] = { 7, 8, 9 };

static const struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };

static size_t header(uint8_t *out, unsigned type, uint32_t len, uint64_t seq, unsigned flags)
{
	struct mig_header h = { .type = (uint8_t)type, .flags = (uint8_t)flags, .length = len,
				.sequence = seq };
	mig_header_encode(out, &h);
	return MIG_HEADER_BYTES;
}

/* Both machines through HELLO and AUTH: the source may offer or query. */
static void authenticated_pair(void)
{
	struct mig_dst_event dev;
	struct mig_src_event sev;

	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	CHECK_EQ_I(to_dst(&dev), 0);
	CHECK_EQ_I(to_src(&sev), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_AUTHENTICATED);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_AUTHENTICATED);
}

/* ---- item 1: seventeen bytes ------------------------------------------------------------ */

/* An empty untagged header of each type that may be empty, then any byte: refused at once. */
TEST(seventeen_bytes_are_refused_by_both_sides)
{
	uint8_t bytes[MIG_HEADER_BYTES + 1];
	unsigned empty = 0;

	for (unsigned type = 1; type < MIG_TYPE_COUNT; type++) {
		struct mig_dst_event dev;
		struct mig_src_event sev;
		size_t used;

		if (mig_payload_min(type) != 0)
			continue;
		empty++;
		header(bytes, type, 0, 0, 0);
		bytes[MIG_HEADER_BYTES] = 0x01;

		mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
		CHECK_EQ_I(mig_dst_input(&dst, bytes, sizeof(bytes), &used, &dev), FERR_PROTO);
		CHECK_EQ_U(used, MIG_HEADER_BYTES);
		CHECK(strstr(dst.error, "unexpected") && strstr(dst.error, mig_type_name(type)));
		CHECK_EQ_U(dst.state, MIG_DST_CLOSED);

		CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
		CHECK_EQ_I(mig_src_input(&src, bytes, sizeof(bytes), &used, &sev), FERR_PROTO);
		CHECK_EQ_U(used, MIG_HEADER_BYTES);
		CHECK_EQ_U(src.state, MIG_SRC_CLOSED);
		pair_fini();

		/* A keyless destination (it still listens) refuses them the same way. */
		mig_dst_init(&dst, NULL, 0, nonce_b, &checks);
		CHECK_EQ_I(mig_dst_input(&dst, bytes, sizeof(bytes), &used, &dev), FERR_PROTO);
		mig_dst_fini(&dst);
	}
	CHECK_EQ_U(empty, 2);   /* ACCEPT, READY (GO carries the source's save-to-GO time) */
}

/* Before a session only HELLO and ABORT: every other type is refused from its header. */
TEST(before_a_session_only_hello_and_abort)
{
	static uint8_t bytes[MIG_HEADER_BYTES + MIG_REASON_MAX_BYTES];

	for (unsigned type = 1; type < MIG_TYPE_COUNT; type++) {
		struct mig_dst_event dev;
		size_t used, len = mig_payload_min(type);
		int rc;

		memset(bytes, 0, sizeof(bytes));
		header(bytes, type, (uint32_t)len, 0, 0);
		mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
		rc = mig_dst_input(&dst, bytes, MIG_HEADER_BYTES + len, &used, &dev);
		if (type == MIG_HELLO || type == MIG_ABORT) {
			/* Taken whole (HELLO's zero magic is then refused, ABORT ends it). */
			CHECK_EQ_U(used, MIG_HEADER_BYTES + len);
		} else {
			CHECK_EQ_I(rc, FERR_PROTO);
			CHECK_EQ_U(used, MIG_HEADER_BYTES);
		}
		mig_dst_fini(&dst);
	}
}

/* After the handshake each state takes only what the peer may send in it. */
TEST(each_state_refuses_the_types_it_does_not_expect)
{
	static uint8_t forged[MIG_SMALL_FRAME_MAX];
	struct mig_writer w;
	struct mig_dst_event dev;
	struct mig_src_event sev;
	const uint8_t *p;
	size_t n, used;

	/* A destination waiting for OFFER or QUERY gets a GO (in sequence, valid): refused. */
	authenticated_pair();
	mig_writer_init(&w, forged, sizeof(forged));
	w.next_sequence = src.writer.next_sequence;
	uint8_t go[MIG_GO_BYTES];
	CHECK_EQ_I(mig_writer_put(&w, MIG_GO, go, mig_encode_go(go, 1)), 0);
	n = mig_writer_pending(&w, &p);
	CHECK_EQ_I(mig_dst_input(&dst, p, n, &used, &dev), FERR_PROTO);
	CHECK_EQ_U(used, MIG_HEADER_BYTES);
	CHECK(strstr(dst.error, "unexpected GO from source") != NULL);
	pair_fini();

	/* A source waiting for nothing (no offer made yet) gets a READY: refused. */
	authenticated_pair();
	mig_writer_init(&w, forged, sizeof(forged));
	w.next_sequence = dst.writer.next_sequence;
	CHECK_EQ_I(mig_writer_put(&w, MIG_READY, NULL, 0), 0);
	n = mig_writer_pending(&w, &p);
	CHECK_EQ_I(mig_src_input(&src, p, n, &used, &sev), FERR_PROTO);
	CHECK_EQ_U(used, MIG_HEADER_BYTES);
	CHECK(strstr(src.error, "unexpected READY from destination") != NULL);
	pair_fini();
}

/* ---- the progress rule ------------------------------------------------------------------ */

/*
 * Every header a peer can send (every type byte, flag and a spread of lengths), then
 * more bytes, fed one at a time to a reader that accepts every type: each feed takes
 * its byte, or delivers, or fails.
 */
TEST(every_feed_takes_a_byte_or_fails)
{
	static uint8_t buf[MIG_FRAME_MAX];
	static const uint32_t lengths[] = { 0, 1, 8, 12, 24, 40, 86, 100, 0xffffffffu };
	unsigned stalls = 0, feeds = 0;

	for (unsigned type = 0; type < 256; type++)
		for (unsigned flags = 0; flags < 4; flags++)
			for (unsigned l = 0; l < sizeof(lengths) / sizeof(lengths[0]); l++) {
				struct mig_reader r;
				uint8_t bytes[MIG_HEADER_BYTES + 8] = { 0 };
				header(bytes, type, lengths[l], 0, flags);
				mig_reader_init(&r, buf, sizeof(buf));
				r.accept = 0xffffffffu;
				for (size_t at = 0; at < sizeof(bytes); at++) {
					struct mig_msg m;
					size_t used;
					int rc = mig_reader_feed(&r, bytes + at, 1, &used, &m);
					feeds++;
					if (rc < 0)
						break;
					stalls += used != 1;
				}
			}
	CHECK_EQ_U(stalls, 0);
	CHECK(feeds > 5000);
}

/* ---- item 12: the query ------------------------------------------------------------------ */

TEST(query_and_answer)
{
	struct mig_dst_event dev;
	struct mig_src_event sev;
	const uint8_t junk[] = "after the answer";
	size_t used;

	authenticated_pair();
	CHECK_EQ_I(mig_src_offer(&src, &(struct mig_offer){ 0 }, src_stream, sizeof(src_stream)),
		   FERR_INVAL);   /* an offer needs a valid name: nothing sent */
	CHECK_EQ_I(mig_src_query(&src, 0x1234), 0);
	CHECK_EQ_I(mig_src_query(&src, 0x1234), FERR_INVAL);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_QUERY);
	CHECK_EQ_U(dev.migration_id, 0x1234);
	CHECK_EQ_I(mig_dst_accept(&dst, dst_stream, sizeof(dst_stream)), FERR_INVAL);
	CHECK_EQ_I(mig_dst_answer(&dst, MIG_ANSWER_NONE), FERR_INVAL);
	CHECK_EQ_I(mig_dst_answer(&dst, MIG_ANSWER_NEVER_RAN), 0);
	CHECK_EQ_I(mig_dst_answer(&dst, MIG_ANSWER_RAN), FERR_INVAL);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_ANSWER);
	CHECK_EQ_U(sev.answer, MIG_ANSWER_NEVER_RAN);
	CHECK_EQ_U(src.state, MIG_SRC_FINISHED);
	/* Nothing after the answer counts, on either side. */
	CHECK_EQ_I(mig_dst_input(&dst, junk, sizeof(junk), &used, &dev), 0);
	CHECK_EQ_U(used, sizeof(junk));
	CHECK_EQ_I(mig_src_input(&src, junk, sizeof(junk), &used, &sev), 0);
	CHECK_EQ_U(used, sizeof(junk));
	CHECK_EQ_I(mig_dst_abort(&dst, MIG_REASON_INTERNAL, "late"), FERR_BUSY);
	pair_fini();

	/* An answer about another migration is refused. */
	authenticated_pair();
	CHECK_EQ_I(mig_src_query(&src, 7), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	dst.query_id = 8;
	CHECK_EQ_I(mig_dst_answer(&dst, MIG_ANSWER_RAN), 0);
	CHECK_EQ_I(to_src(&sev), FERR_PROTO);
	CHECK(strstr(src.error, "another migration") != NULL);
	pair_fini();
}

/* ---- item 2: after the resume ------------------------------------------------------------- */

TEST(after_resumed_the_destination_takes_and_ignores_everything)
{
	static uint8_t page[MIG_PAGE_SIZE], garbage[300];
	uint8_t state[64] = { 1 };
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE };
	struct mig_dst_event dev;
	struct mig_src_event sev;
	const uint8_t *p;
	size_t n, used;

	strcpy(o.name, "g");
	authenticated_pair();
	CHECK_EQ_I(mig_src_offer(&src, &o, src_stream, sizeof(src_stream)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_I(mig_dst_accept(&dst, dst_stream, sizeof(dst_stream)), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_page(&src, 3, page), 0);
	CHECK_EQ_I(mig_src_round_end(&src, true, NULL), 0);
	CHECK_EQ_I(mig_src_state(&src, state, sizeof(state)), 0);
	CHECK_EQ_I(mig_src_done(&src), 0);
	while (to_dst(&dev) == 1 && dev.kind != MIG_DST_EV_VERIFIED)
		;
	CHECK_EQ_U(dst.state, MIG_DST_VERIFIED);
	CHECK_EQ_I(mig_dst_ready(&dst), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_go(&src, 0), 0);
	/* GO and stray bytes arrive in one read: the machine stops at GO... */
	n = mig_src_pending(&src, &p);
	static uint8_t wire[256];
	memcpy(wire, p, n);
	memset(wire + n, 0x0a, 17);
	CHECK_EQ_I(mig_dst_input(&dst, wire, n + 17, &used, &dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_GO);
	CHECK_EQ_U(used, n);
	CHECK_EQ_I(mig_dst_resumed(&dst, 5, 0), 0);
	/* ...and once RESUMED is queued, takes the rest and ignores it. */
	CHECK_EQ_I(mig_dst_input(&dst, wire + n, 17, &used, &dev), 0);
	CHECK_EQ_U(used, 17);
	memset(garbage, 0xff, sizeof(garbage));
	CHECK_EQ_I(mig_dst_input(&dst, garbage, sizeof(garbage), &used, &dev), 0);
	CHECK_EQ_U(used, sizeof(garbage));
	CHECK_EQ_U(dst.state, MIG_DST_FINISHED);
	CHECK_EQ_I(mig_dst_abort(&dst, MIG_REASON_PROTOCOL, "too late"), FERR_BUSY);
	CHECK_EQ_I(to_src(&sev), 1);   /* RESUMED still goes out and counts */
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_RESUMED);
	pair_fini();
}

/* ---- buffers ------------------------------------------------------------------------------ */

/* A connection that never accepts a stream costs its machine only: a few KiB. */
TEST(machines_hold_small_buffers_until_the_stream)
{
	struct mig_dst_event dev;
	uint8_t small[MIG_FRAME_MAX - 1];

	CHECK(sizeof(struct mig_dst) < 4096);
	CHECK(sizeof(struct mig_src) < 4096);
	authenticated_pair();
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE };
	strcpy(o.name, "g");
	CHECK_EQ_I(mig_src_page(&src, 1, NULL), FERR_INVAL);            /* no stream yet */
	CHECK_EQ_I(mig_src_offer(&src, &o, small, sizeof(small)), FERR_INVAL);
	CHECK_EQ_I(mig_src_offer(&src, &o, src_stream, sizeof(src_stream)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_I(mig_dst_accept(&dst, small, sizeof(small)), FERR_INVAL);
	CHECK_EQ_I(mig_dst_accept(&dst, dst_stream, sizeof(dst_stream)), 0);
	CHECK(dst.reader.buf == dst_stream && src.writer.buf == src_stream);
	pair_fini();
}

/* Moving a reader or writer to a larger buffer keeps what it holds. */
TEST(rebuffer_keeps_a_message_under_way)
{
	static uint8_t big[MIG_FRAME_MAX], small_r[MIG_SMALL_FRAME_MAX], small_w[MIG_SMALL_WRITER_CAPACITY];
	static uint8_t bigw[MIG_WRITER_CAPACITY];
	uint8_t bytes[MIG_HEADER_BYTES + MIG_QUERY_BYTES];
	struct mig_reader r;
	struct mig_writer w;
	struct mig_msg m;
	const uint8_t *p;
	size_t used;

	header(bytes, MIG_QUERY, MIG_QUERY_BYTES, 0, 0);
	mig_encode_query(bytes + MIG_HEADER_BYTES, 99);
	mig_reader_init(&r, small_r, sizeof(small_r));
	r.accept = MIG_TYPE_BIT(MIG_QUERY);
	CHECK_EQ_I(mig_reader_feed(&r, bytes, 20, &used, &m), 0);
	CHECK_EQ_I(mig_reader_rebuffer(&r, big, sizeof(big)), 0);
	CHECK_EQ_I(mig_reader_feed(&r, bytes + 20, sizeof(bytes) - 20, &used, &m), 1);
	CHECK_EQ_U(m.u.query_id, 99);
	CHECK_EQ_I(mig_reader_rebuffer(&r, small_r, 8), FERR_TOOBIG);

	mig_writer_init(&w, small_w, sizeof(small_w));
	CHECK_EQ_I(mig_writer_put(&w, MIG_QUERY, bytes + MIG_HEADER_BYTES, MIG_QUERY_BYTES), 0);
	CHECK(!mig_writer_has_room(&w, MIG_PAGES));
	CHECK_EQ_I(mig_writer_rebuffer(&w, bigw, sizeof(bigw)), 0);
	CHECK(mig_writer_has_room(&w, MIG_PAGES));
	CHECK_EQ_U(mig_writer_pending(&w, &p), sizeof(bytes));
	CHECK(memcmp(p, bytes, sizeof(bytes)) == 0);
}

/*
 * A last word does not wait behind queued messages: those not begun on the wire are
 * dropped, the one under way goes out whole, and the sequence follows on without a gap,
 * so the peer's reader takes the ABORT right after the message it was reading.
 */
TEST(dropping_unsent_messages_keeps_the_one_under_way_and_the_sequence)
{
	static uint8_t wbuf[MIG_WRITER_CAPACITY], rbuf[MIG_FRAME_MAX];
	uint8_t query[MIG_QUERY_BYTES], reason[MIG_REASON_MAX_BYTES], wire[4 * 64];
	struct mig_writer w;
	struct mig_reader r;
	struct mig_msg m;
	const uint8_t *p;
	size_t n, used, sent = 0, first;

	mig_writer_init(&w, wbuf, sizeof(wbuf));
	for (uint64_t id = 1; id <= 3; id++) {
		mig_encode_query(query, id);
		CHECK_EQ_I(mig_writer_put(&w, MIG_QUERY, query, sizeof(query)), 0);
	}
	/* Half of the first message and nothing of the others has gone out. */
	first = mig_writer_pending(&w, &p) / 3;
	memcpy(wire, p, first / 2);
	sent = first / 2;
	mig_writer_consume(&w, first / 2);

	mig_writer_drop_unsent(&w);
	CHECK_EQ_U(mig_writer_pending(&w, &p), first - first / 2);
	size_t len = mig_encode_reason(reason, MIG_REASON_CANCELLED, "operator cancelled");
	CHECK_EQ_I(mig_writer_put(&w, MIG_ABORT, reason, len), 0);
	n = mig_writer_pending(&w, &p);
	CHECK(sent + n <= sizeof(wire));
	memcpy(wire + sent, p, n);
	mig_writer_consume(&w, n);
	sent += n;

	mig_reader_init(&r, rbuf, sizeof(rbuf));
	r.accept = MIG_TYPE_BIT(MIG_QUERY) | MIG_TYPE_BIT(MIG_ABORT);
	CHECK_EQ_I(mig_reader_feed(&r, wire, sent, &used, &m), 1);
	CHECK_EQ_U(m.header.type, MIG_QUERY);
	CHECK_EQ_U(m.u.query_id, 1);
	CHECK_EQ_I(mig_reader_feed(&r, wire + used, sent - used, &used, &m), 1);
	CHECK_EQ_U(m.header.type, MIG_ABORT);
	CHECK_EQ_U(m.header.sequence, 1);

	/* With nothing under way, everything queued goes, and the sequence is taken back. */
	mig_writer_init(&w, wbuf, sizeof(wbuf));
	CHECK_EQ_I(mig_writer_put(&w, MIG_QUERY, query, sizeof(query)), 0);
	n = mig_writer_pending(&w, &p);
	mig_writer_consume(&w, n);
	CHECK_EQ_I(mig_writer_put(&w, MIG_QUERY, query, sizeof(query)), 0);
	mig_writer_drop_unsent(&w);
	CHECK_EQ_U(mig_writer_pending(&w, &p), 0);
	CHECK_EQ_U(w.next_sequence, 1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_tests();
}
