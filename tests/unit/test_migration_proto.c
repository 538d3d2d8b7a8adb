/*
 * The migration wire codec, HMAC and session auth, and the sans-IO state machines:
 * round trips, and every kind of malformed, oversized, out-of-order, forged or
 * replayed input.
 */
#include "tests/unit/check.h"

#include "kernel/lib/errors.h"
#include "kernel/migration/auth.h"
#include "kernel/migration/channel.h"
#include "kernel/migration/proto.h"
#include "tests/unit/migration_pair.h"
#include "kernel/migration/stream_sum.h"
#include "kernel/migration/wire.h"

#define KEY "correct horse battery staple"

static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1, 2, 3, 4 };
static const uint8_t nonce_b[MIG_NONCE_BYTES] = { 9, 8, 7, 6 };

/* ---- HMAC-SHA256 (RFC 4231 test vectors) --------------------------------------------- */

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

TEST(hmac_sha256_rfc4231)
{
	uint8_t key1[20], key6[131], mac[32];
	char text[65];

	memset(key1, 0x0b, sizeof(key1));
	mig_hmac_sha256(key1, sizeof(key1), "Hi There", 8, mac);
	hex(mac, 32, text);
	CHECK_STR(text, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

	mig_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex(mac, 32, text);
	CHECK_STR(text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

	memset(key6, 0xaa, sizeof(key6));
	mig_hmac_sha256(key6, sizeof(key6), "Test Using Larger Than Block-Size Key - Hash Key First",
			54, mac);
	hex(mac, 32, text);
	CHECK_STR(text, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(session_keys_match_across_roles_and_differ_by_direction)
{
	struct mig_session s, d, wrong;
	uint8_t resp[MIG_AUTH_BYTES];

	CHECK_EQ_I(mig_session_derive(&s, MIG_ROLE_SOURCE, (const uint8_t *)KEY, strlen(KEY),
				      nonce_a, nonce_b), 0);
	CHECK_EQ_I(mig_session_derive(&d, MIG_ROLE_DEST, (const uint8_t *)KEY, strlen(KEY),
				      nonce_b, nonce_a), 0);
	CHECK_EQ_I(mig_session_derive(&wrong, MIG_ROLE_DEST, (const uint8_t *)"other key", 9,
				      nonce_b, nonce_a), 0);
	mig_session_auth_response(&s, resp);
	CHECK(mig_session_auth_check(&d, resp));
	CHECK(!mig_session_auth_check(&wrong, resp));
	/* A response reflected back to its sender is not accepted. */
	CHECK(!mig_session_auth_check(&s, resp));
	mig_session_auth_response(&d, resp);
	CHECK(mig_session_auth_check(&s, resp));

	struct mig_session none;
	CHECK_EQ_I(mig_session_derive(&none, MIG_ROLE_SOURCE, NULL, 0, nonce_a, nonce_b), FERR_AUTH);
	mig_session_wipe(&s);
	mig_session_wipe(&d);
	mig_session_wipe(&wrong);
}

TEST(stream_sum_sees_flips_swaps_and_lengths)
{
	static uint8_t a[8192];
	struct mig_stream_sum s;
	uint64_t base, v;

	for (unsigned i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + i / 4096);   /* two different pages */
	mig_stream_sum_init(&s);
	mig_stream_sum_update(&s, a, 4096);
	mig_stream_sum_update(&s, a + 4096, 4096);
	base = mig_stream_sum_final(&s);

	mig_stream_sum_init(&s);                 /* the same bytes, the same calls */
	mig_stream_sum_update(&s, a, 4096);
	mig_stream_sum_update(&s, a + 4096, 4096);
	CHECK_EQ_U(mig_stream_sum_final(&s), base);

	mig_stream_sum_init(&s);                 /* two pages swapped */
	mig_stream_sum_update(&s, a + 4096, 4096);
	mig_stream_sum_update(&s, a, 4096);
	CHECK(mig_stream_sum_final(&s) != base);

	for (unsigned bit = 0; bit < 64; bit += 7) {
		a[1000 + bit] ^= (uint8_t)(1u << (bit % 8));
		mig_stream_sum_init(&s);
		mig_stream_sum_update(&s, a, 8192);
		v = mig_stream_sum_final(&s);
		CHECK(v != base);
		a[1000 + bit] ^= (uint8_t)(1u << (bit % 8));
	}

	mig_stream_sum_init(&s);                 /* a trailing zero byte counts */
	mig_stream_sum_update(&s, a, 8);
	v = mig_stream_sum_final(&s);
	mig_stream_sum_init(&s);
	uint8_t nine[9] = { 0 };
	memcpy(nine, a, 8);
	mig_stream_sum_update(&s, nine, 9);
	CHECK(mig_stream_sum_final(&s) != v);
}

/* ---- codec -------------------------------------------------------------------------- */

static void frame(uint8_t *out, unsigned type, uint32_t len, uint64_t seq)
{
	struct mig_header h = { .type = (uint8_t)type, .length = len, .sequence = seq };
	mig_header_encode(out, &h);
}

TEST(header_round_trip_and_limits)
{
	uint8_t buf[MIG_HEADER_BYTES];
	struct mig_header h;

	frame(buf, MIG_PAGES, MIG_PAGES_MAX_PAYLOAD, 0x0102030405060708ull);
	CHECK_EQ_I(mig_header_decode(buf, &h), 0);
	CHECK_EQ_U(h.type, MIG_PAGES);
	CHECK_EQ_U(h.length, MIG_PAGES_MAX_PAYLOAD);
	CHECK_EQ_U(h.sequence, 0x0102030405060708ull);
	CHECK_EQ_U(buf[4], MIG_PAGES_MAX_PAYLOAD & 0xff);   /* little-endian */

	frame(buf, MIG_PAGES, MIG_PAGES_MAX_PAYLOAD + 1, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_TOOBIG);
	frame(buf, MIG_STATE, VM_SNAPSHOT_MAX_BYTES + 1, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_TOOBIG);
	frame(buf, MIG_GO, MIG_GO_BYTES + 1, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_TOOBIG);
	frame(buf, MIG_HELLO, MIG_HELLO_BYTES - 1, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_TOOBIG);
	frame(buf, MIG_PAGES, 0xffffffffu, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_TOOBIG);
	frame(buf, 0, 0, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_PROTO);
	frame(buf, MIG_TYPE_COUNT, 0, 0);
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_PROTO);
	frame(buf, MIG_GO, 0, 0);
	buf[1] = 0x80;   /* unknown flag */
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_PROTO);
	buf[1] = 0;
	buf[2] = 1;      /* reserved */
	CHECK_EQ_I(mig_header_decode(buf, &h), FERR_PROTO);
}

static int decode(unsigned type, const uint8_t *payload, size_t len, uint64_t limit,
		  struct mig_msg *m)
{
	m->header = (struct mig_header){ .type = (uint8_t)type, .length = (uint32_t)len };
	m->payload = payload;
	return mig_payload_decode(m, limit);
}

TEST(offer_round_trip_and_malformations)
{
	struct mig_offer o = { .migration_id = 0x1122334455667788ull, .memory_mib = 64,
			       .mac = { 0x52, 0x54, 0, 1, 2, 3 }, .page_size = MIG_PAGE_SIZE,
			       .dirty_mode = MIG_DIRTY_NPT_WP, .vendor = MIG_VENDOR_MAX,
			       .features = { .leaf1_ecx = 0xdeadbeef, .xsave_eax = 7 } };
	uint8_t buf[MIG_OFFER_BYTES];
	struct mig_msg m;

	strcpy(o.name, "memtest-1");
	CHECK_EQ_U(mig_encode_offer(buf, &o), MIG_OFFER_BYTES);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), 0);
	CHECK_STR(m.u.offer.name, "memtest-1");
	CHECK_EQ_U(m.u.offer.dirty_mode, MIG_DIRTY_NPT_WP);
	CHECK_EQ_U(m.u.offer.vendor, MIG_VENDOR_MAX);
	CHECK_STR(mig_dirty_mode_name(m.u.offer.dirty_mode), "npt-wp");
	CHECK_EQ_U(mig_dirty_mode_code("npt-ad"), MIG_DIRTY_NPT_AD);
	CHECK_EQ_U(m.u.offer.migration_id, o.migration_id);
	CHECK_EQ_U(m.u.offer.memory_mib, 64);
	CHECK(memcmp(m.u.offer.mac, o.mac, 6) == 0);
	CHECK_EQ_U(m.u.offer.features.leaf1_ecx, 0xdeadbeef);
	CHECK_EQ_U(m.u.offer.features.xsave_eax, 7);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf) - 1, 0, &m), FERR_PROTO);

	o.vendor = MIG_VENDOR_MAX + 1;   /* a vendor Ferry does not know */
	mig_encode_offer(buf, &o);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
	o.vendor = MIG_VENDOR_MAX;
	o.dirty_mode = MIG_DIRTY_MODES;   /* a dirty mode Ferry does not know */
	mig_encode_offer(buf, &o);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
	o.dirty_mode = MIG_DIRTY_NPT_WP;
	mig_encode_offer(buf, &o);
	buf[8 + 3] = ' ';          /* a space in the name */
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
	mig_encode_offer(buf, &o);
	buf[8 + 20] = 'x';         /* junk after the name's NUL */
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
	mig_encode_offer(buf, &o);
	memset(buf + 8, 'a', MIG_NAME_BYTES);   /* no NUL at all */
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
	mig_encode_offer(buf, &o);
	buf[8] = 0;                /* empty name */
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), 0, &m), FERR_PROTO);
}

TEST(pages_round_trip_and_malformations)
{
	static uint8_t buf[MIG_PAGES_MAX_PAYLOAD + 64];
	uint8_t page[MIG_PAGE_SIZE];
	struct mig_page_rec rec;
	struct mig_msg m;
	size_t len = 0, at = 0;

	memset(page, 0x5a, sizeof(page));
	len += mig_encode_page(buf + len, 3, page);
	len += mig_encode_page(buf + len, 4, NULL);
	len += mig_encode_page(buf + len, 4095, page);
	CHECK_EQ_U(len, 3 * 8 + 2 * MIG_PAGE_SIZE);
	CHECK_EQ_I(decode(MIG_PAGES, buf, len, 4096, &m), 0);
	CHECK_EQ_U(m.u.page_count, 3);
	CHECK(mig_pages_next(buf, len, &at, &rec));
	CHECK_EQ_U(rec.page, 3);
	CHECK(rec.data && memcmp(rec.data, page, MIG_PAGE_SIZE) == 0);
	CHECK(mig_pages_next(buf, len, &at, &rec));
	CHECK_EQ_U(rec.page, 4);
	CHECK(rec.data == NULL);
	CHECK(mig_pages_next(buf, len, &at, &rec));
	CHECK_EQ_U(rec.page, 4095);
	CHECK(!mig_pages_next(buf, len, &at, &rec));

	/* page number out of the guest's range */
	CHECK_EQ_I(decode(MIG_PAGES, buf, len, 4095, &m), FERR_PROTO);
	/* truncated in a record header and in page data */
	CHECK_EQ_I(decode(MIG_PAGES, buf, len - 1, 4096, &m), FERR_PROTO);
	CHECK_EQ_I(decode(MIG_PAGES, buf, 8 + 100, 4096, &m), FERR_PROTO);
	CHECK_EQ_I(decode(MIG_PAGES, buf, 4, 4096, &m), FERR_PROTO);
	/* unknown kind, reserved bytes */
	buf[4] = 2;
	CHECK_EQ_I(decode(MIG_PAGES, buf, len, 4096, &m), FERR_PROTO);
	buf[4] = MIG_PAGE_FULL;
	buf[6] = 1;
	CHECK_EQ_I(decode(MIG_PAGES, buf, len, 4096, &m), FERR_PROTO);
	buf[6] = 0;
	/* more records than a batch holds */
	len = 0;
	for (unsigned i = 0; i <= MIG_BATCH_MAX_PAGES; i++)
		len += mig_encode_page(buf + len, i, NULL);
	CHECK_EQ_I(decode(MIG_PAGES, buf, len, 4096, &m), FERR_PROTO);
	CHECK_EQ_I(decode(MIG_PAGES, buf, len - 8, 4096, &m), 0);
}

TEST(reason_round_trip_and_malformations)
{
	uint8_t buf[MIG_REASON_MAX_BYTES + 8];
	struct mig_msg m;
	char long_text[200];
	size_t len;

	len = mig_encode_reason(buf, MIG_REASON_MEMORY, "no room\n");
	CHECK_EQ_I(decode(MIG_REFUSE, buf, len, 0, &m), 0);
	CHECK_EQ_U(m.u.reason.reason, MIG_REASON_MEMORY);
	CHECK_STR(m.u.reason.text, "no room?");   /* control characters replaced */
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = 0;
	len = mig_encode_reason(buf, MIG_REASON_AUTH, long_text);
	CHECK_EQ_U(len, MIG_REASON_MAX_BYTES);
	CHECK_EQ_I(decode(MIG_ABORT, buf, len, 0, &m), 0);
	CHECK_EQ_U(strlen(m.u.reason.text), MIG_TEXT_MAX);
	/* Hostile: a text one longer than the field, its length consistent with the payload. */
	static uint8_t over[MIG_REASON_MAX_BYTES + 1];
	memcpy(over, buf, MIG_REASON_MAX_BYTES);
	over[MIG_REASON_MAX_BYTES] = 'x';
	over[2] = (uint8_t)(MIG_TEXT_MAX + 1);
	over[3] = (uint8_t)((MIG_TEXT_MAX + 1) >> 8);
	CHECK_EQ_I(decode(MIG_ABORT, over, sizeof(over), 0, &m), FERR_PROTO);
	CHECK_EQ_I(decode(MIG_REFUSE, over, sizeof(over), 0, &m), FERR_PROTO);
	len = mig_encode_reason(buf, MIG_REASON_AUTH, "abc");
	CHECK_EQ_I(decode(MIG_ABORT, buf, len - 1, 0, &m), FERR_PROTO);   /* length mismatch */
	buf[5] = 7;
	CHECK_EQ_I(decode(MIG_ABORT, buf, len, 0, &m), FERR_PROTO);       /* control byte */
}

TEST(small_messages_round_trip)
{
	uint8_t buf[64];
	struct mig_msg m;
	struct mig_round_end r = { .round = 7, .flags = MIG_ROUND_FINAL, .pages = 1ull << 40,
				   .bytes = 123 };
	struct mig_done d = { .page_records = 5, .state_bytes = 1000 };
	struct mig_hello h = { .magic = MIG_HELLO_MAGIC, .version = 1, .role = MIG_ROLE_DEST };

	mig_encode_round_end(buf, &r);
	CHECK_EQ_I(decode(MIG_ROUND_END, buf, MIG_ROUND_END_BYTES, 0, &m), 0);
	CHECK_EQ_U(m.u.round_end.round, 7);
	CHECK_EQ_U(m.u.round_end.pages, 1ull << 40);
	buf[4] = 2;   /* unknown round flag */
	CHECK_EQ_I(decode(MIG_ROUND_END, buf, MIG_ROUND_END_BYTES, 0, &m), FERR_PROTO);

	d.checksum = 0xcc00000000000011ull;
	mig_encode_done(buf, &d);
	CHECK_EQ_I(decode(MIG_DONE, buf, MIG_DONE_BYTES, 0, &m), 0);
	CHECK_EQ_U(m.u.done.state_bytes, 1000);
	CHECK_EQ_U(m.u.done.checksum, 0xcc00000000000011ull);

	memcpy(h.nonce, nonce_a, sizeof(h.nonce));
	mig_encode_hello(buf, &h);
	CHECK_EQ_I(decode(MIG_HELLO, buf, MIG_HELLO_BYTES, 0, &m), 0);
	CHECK_EQ_U(m.u.hello.role, MIG_ROLE_DEST);
	CHECK(memcmp(m.u.hello.nonce, nonce_a, MIG_NONCE_BYTES) == 0);
	buf[0] ^= 1;  /* bad magic */
	CHECK_EQ_I(decode(MIG_HELLO, buf, MIG_HELLO_BYTES, 0, &m), FERR_PROTO);
}

/* ---- state machines ------------------------------------------------------------------ */

static struct mig_offer test_offer(void)
{
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE,
			       .features = { .leaf1_ecx = 1 } };
	strcpy(o.name, "g");
	return o;
}

/* Handshake and an accepted offer; dst in PRECOPY. */
static void accepted_pair(const char *src_key, const char *dst_key)
{
	struct mig_dst_checks checks = { .host_features = { .leaf1_ecx = 1 },
					 .memory_available = always, .name_free = name_free };
	struct mig_dst_event dev;
	struct mig_src_event sev;
	struct mig_offer o = test_offer();

	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)src_key, strlen(src_key), nonce_a), 0);
	mig_dst_init(&dst, (const uint8_t *)dst_key, strlen(dst_key), nonce_b, &checks);
	CHECK_EQ_I(to_dst(&dev), 0);                 /* HELLO */
	CHECK_EQ_I(to_src(&sev), 0);                 /* HELLO, source sends AUTH */
	CHECK_EQ_I(to_dst(&dev), 1);                 /* AUTH checked, destination answers AUTH */
	CHECK_EQ_U(dev.kind, MIG_DST_EV_AUTHENTICATED);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_AUTHENTICATED);
	CHECK_EQ_I(mig_src_offer(&src, &o, src_stream, sizeof(src_stream)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_OFFER);
	CHECK_EQ_I(mig_dst_accept(&dst, dst_stream, sizeof(dst_stream)), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_ACCEPTED);
}

TEST(state_machines_full_exchange)
{
	static uint8_t page[MIG_PAGE_SIZE];
	uint8_t state[100];
	struct mig_dst_event dev;
	struct mig_src_event sev;

	accepted_pair(KEY, KEY);
	memset(page, 7, sizeof(page));
	memset(state, 3, sizeof(state));
	CHECK_EQ_I(mig_src_page(&src, 1, page), 0);
	CHECK_EQ_I(mig_src_page(&src, 2, NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, false, NULL), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_PAGE);
	CHECK_EQ_U(dev.page, 1);
	CHECK(dev.data && dev.data[100] == 7);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.page, 2);
	CHECK(dev.data == NULL);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_ROUND_END);
	CHECK_EQ_I(mig_src_page(&src, 1, page), 0);
	CHECK_EQ_I(mig_src_round_end(&src, true, NULL), 0);
	CHECK_EQ_I(mig_src_page(&src, 1, page), FERR_INVAL);   /* after the final round */
	CHECK_EQ_I(mig_src_state(&src, state, sizeof(state)), 0);
	CHECK_EQ_I(mig_src_done(&src), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_PAGE);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_ROUND_END);
	CHECK(dev.round.flags & MIG_ROUND_FINAL);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_STATE);
	CHECK_EQ_U(dev.state_len, sizeof(state));
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_VERIFIED);
	CHECK_EQ_I(mig_src_go(&src, 0), FERR_INVAL);               /* not before READY */
	CHECK_EQ_I(mig_dst_ready(&dst), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_READY);
	CHECK_EQ_I(mig_src_go(&src, 0), 0);
	CHECK_EQ_I(mig_src_abort(&src, MIG_REASON_CANCELLED, "late"), FERR_BUSY);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_GO);
	CHECK_EQ_I(mig_dst_resumed(&dst, 42, 7), 0);
	CHECK_EQ_I(mig_dst_abort(&dst, MIG_REASON_INTERNAL, "late"), FERR_BUSY);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_RESUMED);
	CHECK_EQ_U(sev.dest_downtime_ns, 42);
	CHECK_EQ_U(sev.dest_load_ns, 7);
	pair_fini();
}

/*
 * One page a message (the paused source's choice): each page is a whole message, numbered
 * and pending, the moment it is added; the destination takes each on its own.
 */
TEST(a_batch_of_one_page_is_a_message_of_its_own)
{
	static uint8_t page[MIG_PAGE_SIZE];
	const size_t one_page_message = MIG_HEADER_BYTES + MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE;
	const uint8_t *out;
	struct mig_dst_event dev;

	accepted_pair(KEY, KEY);
	memset(page, 9, sizeof(page));
	/* By default pages wait in the open batch: nothing is pending yet. */
	CHECK_EQ_I(mig_src_page(&src, 1, page), 0);
	CHECK_EQ_U(mig_src_pending(&src, &out), 0);
	/* Lowering the limit closes the open batch at once... */
	mig_src_set_batch_pages(&src, 1);
	CHECK_EQ_U(mig_src_pending(&src, &out), one_page_message);
	/* ...and each page from then on is a message when it is added. */
	CHECK_EQ_I(mig_src_page(&src, 2, page), 0);
	CHECK_EQ_U(mig_src_pending(&src, &out), 2 * one_page_message);
	CHECK_EQ_I(mig_src_page(&src, 3, NULL), 0);
	CHECK_EQ_U(mig_src_pending(&src, &out),
		   2 * one_page_message + MIG_HEADER_BYTES + MIG_PAGE_RECORD_HEADER);
	for (uint32_t p = 1; p <= 3; p++) {
		CHECK_EQ_I(to_dst(&dev), 1);
		CHECK_EQ_U(dev.kind, MIG_DST_EV_PAGE);
		CHECK_EQ_U(dev.page, p);
	}
	/* Out-of-range limits are clamped: 0 means one, more than a batch means a batch. */
	mig_src_set_batch_pages(&src, 0);
	CHECK_EQ_U(src.batch_pages_max, 1);
	mig_src_set_batch_pages(&src, 1000);
	CHECK_EQ_U(src.batch_pages_max, MIG_BATCH_MAX_PAGES);
	pair_fini();
}

TEST(wrong_key_fails_on_both_sides)
{
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	struct mig_dst_event dev;
	struct mig_src_event sev;

	/* The destination catches a source with another key... */
	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
	mig_dst_init(&dst, (const uint8_t *)"a different key!", 16, nonce_b, &checks);
	to_dst(&dev);
	to_src(&sev);
	CHECK_EQ_I(to_dst(&dev), FERR_AUTH);
	CHECK(strstr(dst.error, "key") != NULL);
	CHECK_EQ_I(to_src(&sev), 1);                 /* ...and tells it */
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_ABORTED);
	CHECK_EQ_U(sev.reason, MIG_REASON_AUTH);
	pair_fini();

	/* The source catches a destination that answers without the key. */
	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	to_dst(&dev);
	to_src(&sev);
	to_dst(&dev);
	const uint8_t *p;
	size_t len = mig_dst_pending(&dst, &p), used;
	uint8_t forged[MIG_HEADER_BYTES + MIG_AUTH_BYTES];
	CHECK_EQ_U(len, sizeof(forged));
	memcpy(forged, p, len);
	forged[MIG_HEADER_BYTES + 3] ^= 1;           /* the AUTH response itself */
	CHECK_EQ_I(mig_src_input(&src, forged, len, &used, &sev), FERR_AUTH);
	CHECK(strstr(src.error, "key") != NULL);
	pair_fini();
}

TEST(no_key_refuses_both_ways)
{
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	struct mig_dst_event dev;
	struct mig_src_event sev;

	CHECK_EQ_I(mig_src_init(&src, NULL, 0, nonce_a), FERR_AUTH);
	CHECK(strstr(src.error, "migration_key") != NULL);
	mig_src_fini(&src);

	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
	mig_dst_init(&dst, NULL, 0, nonce_b, &checks);
	CHECK_EQ_I(to_dst(&dev), FERR_AUTH);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_ABORTED);
	CHECK_EQ_U(sev.reason, MIG_REASON_NO_KEY);
	CHECK(strstr(sev.text, "migration_key") != NULL);
	pair_fini();
}

/* A writer that goes on with the source's numbering: forges in-sequence messages of any content. */
static struct mig_writer forger;
static uint8_t forger_buf[MIG_WRITER_CAPACITY];

static void forger_start(void)
{
	mig_writer_init(&forger, forger_buf, sizeof(forger_buf));
	forger.next_sequence = src.writer.next_sequence;
}

static int forged_to_dst(unsigned type, const void *payload, size_t len, struct mig_dst_event *ev)
{
	const uint8_t *p;
	size_t n, used;

	CHECK_EQ_I(mig_writer_put(&forger, type, payload, len), 0);
	n = mig_writer_pending(&forger, &p);
	int rc = mig_dst_input(&dst, p, n, &used, ev);
	mig_writer_consume(&forger, n);
	return rc;
}

TEST(destination_rejects_out_of_order_messages)
{
	static const unsigned wrong[] = { MIG_GO, MIG_DONE, MIG_STATE, MIG_OFFER, MIG_HELLO,
					  MIG_AUTH, MIG_READY, MIG_RESUMED, MIG_ACCEPT };
	uint8_t payload[MIG_OFFER_BYTES + MIG_DONE_BYTES + 100];
	struct mig_dst_event dev;

	for (unsigned i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		accepted_pair(KEY, KEY);
		forger_start();
		memset(payload, 0, sizeof(payload));
		size_t len = mig_payload_min(wrong[i]);
		if (wrong[i] == MIG_OFFER) {
			struct mig_offer o = test_offer();
			len = mig_encode_offer(payload, &o);
		} else if (wrong[i] == MIG_HELLO) {
			struct mig_hello h = { .magic = MIG_HELLO_MAGIC, .version = 1, .role = 1 };
			len = mig_encode_hello(payload, &h);
		}
		CHECK_EQ_I(forged_to_dst(wrong[i], payload, len, &dev), FERR_PROTO);
		CHECK_EQ_U(dst.state, MIG_DST_CLOSED);
		pair_fini();
	}
}

TEST(destination_rejects_bad_page_number_flags_replay_and_summary)
{
	static uint8_t page_msg[MIG_PAGE_RECORD_HEADER];
	struct mig_dst_event dev;
	uint8_t end[MIG_ROUND_END_BYTES];
	const uint8_t *p;
	size_t n, used;

	/* page number past the guest's 16 MiB */
	accepted_pair(KEY, KEY);
	forger_start();
	mig_encode_page(page_msg, 4096, NULL);
	CHECK_EQ_I(forged_to_dst(MIG_PAGES, page_msg, sizeof(page_msg), &dev), FERR_PROTO);
	pair_fini();

	/* a message flagged as protocol 3's tagged one: refused from its header */
	accepted_pair(KEY, KEY);
	CHECK_EQ_I(mig_src_page(&src, 5, NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, false, NULL), 0);
	n = mig_src_pending(&src, &p);
	uint8_t copy[256];
	memcpy(copy, p, n);
	copy[1] = 0x01;
	CHECK_EQ_I(mig_dst_input(&dst, copy, n, &used, &dev), FERR_PROTO);
	CHECK_EQ_U(used, MIG_HEADER_BYTES);
	pair_fini();

	/* a replayed message (same bytes again) */
	accepted_pair(KEY, KEY);
	CHECK_EQ_I(mig_src_page(&src, 5, NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, false, NULL), 0);
	n = mig_src_pending(&src, &p);
	memcpy(copy, p, n);
	size_t first = MIG_HEADER_BYTES + 8;   /* the PAGES message */
	CHECK_EQ_I(mig_dst_input(&dst, copy, first, &used, &dev), 1);
	CHECK_EQ_I(mig_dst_input(&dst, copy, first, &used, &dev), FERR_PROTO);
	pair_fini();

	/* a round summary that does not match what arrived */
	accepted_pair(KEY, KEY);
	forger_start();
	mig_encode_round_end(end, &(struct mig_round_end){ .round = 0, .pages = 3 });
	CHECK_EQ_I(forged_to_dst(MIG_ROUND_END, end, sizeof(end), &dev), FERR_PROTO);
	pair_fini();

	/* an oversized header is refused after its 16 bytes, before any payload is buffered */
	accepted_pair(KEY, KEY);
	uint8_t big[MIG_HEADER_BYTES + 64];
	memset(big, 0, sizeof(big));
	frame(big, MIG_STATE, VM_SNAPSHOT_MAX_BYTES + 1, src.writer.next_sequence);
	CHECK_EQ_I(mig_dst_input(&dst, big, sizeof(big), &used, &dev), FERR_TOOBIG);
	CHECK_EQ_U(used, MIG_HEADER_BYTES);
	pair_fini();
}

TEST(destination_checks_the_stream_checksum)
{
	struct mig_dst_event dev;
	uint8_t state[10] = { 1 }, done[MIG_DONE_BYTES];
	struct mig_done d = { .page_records = 1, .state_bytes = sizeof(state) };

	accepted_pair(KEY, KEY);
	CHECK_EQ_I(mig_src_page(&src, 5, NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, true, NULL), 0);
	CHECK_EQ_I(mig_src_state(&src, state, sizeof(state)), 0);
	while (to_dst(&dev) == 1)
		;
	CHECK_EQ_U(dst.state, MIG_DST_WAIT_DONE);
	forger_start();
	d.checksum = 0x1111;
	mig_encode_done(done, &d);
	CHECK_EQ_I(forged_to_dst(MIG_DONE, done, sizeof(done), &dev), FERR_PROTO);
	CHECK(strstr(dst.error, "checksum") != NULL);
	pair_fini();
}

TEST(destination_refuses_offers_it_cannot_take)
{
	struct mig_dst_checks checks = { .host_features = { .leaf1_ecx = 1 },
					 .memory_available = always, .name_free = name_free };
	struct mig_dst_event dev;
	struct mig_src_event sev;
	struct mig_offer o = test_offer();

	o.memory_mib = VM_MAX_MEMORY_MIB + 1;
	CHECK_EQ_I(mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a), 0);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	to_dst(&dev);
	to_src(&sev);
	to_dst(&dev);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_offer(&src, &o, src_stream, sizeof(src_stream)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_REFUSED);
	CHECK_EQ_U(dev.reason, MIG_REASON_INVALID);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_REFUSED);
	pair_fini();
}

TEST(input_split_into_single_bytes)
{
	static uint8_t page[MIG_PAGE_SIZE];
	struct mig_dst_event dev;
	const uint8_t *p;
	size_t n, used, at = 0;
	int pages = 0;

	accepted_pair(KEY, KEY);
	memset(page, 9, sizeof(page));
	for (uint32_t i = 0; i < 40; i++)
		CHECK_EQ_I(mig_src_page(&src, i, (i & 1) ? page : NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, false, NULL), 0);
	n = mig_src_pending(&src, &p);
	while (at < n) {
		int rc = mig_dst_input(&dst, p + at, 1, &used, &dev);
		CHECK(rc >= 0);
		if (rc < 0)
			break;
		at += used;
		if (rc == 1 && dev.kind == MIG_DST_EV_PAGE)
			pages++;
	}
	while (mig_dst_input(&dst, NULL, 0, &used, &dev) == 1)
		pages += dev.kind == MIG_DST_EV_PAGE;
	CHECK_EQ_I(pages, 40);
	pair_fini();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_tests();
}
