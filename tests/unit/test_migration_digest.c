/*
 * The memory digest's parts: CRC-32C (arch/x86/crc32c.h) by the instruction and by the
 * table, the page hashes and sums (kernel/migration/digest.h), the DIGEST message and
 * the OFFER's verify and hash fields (wire.h), and where the protocol's machines accept
 * DIGEST (proto.h): between STATE and DONE with verify=before, after RESUMED with
 * verify=after, nowhere else.
 */
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

#include "arch/x86/crc32c.h"
#include "kernel/lib/errors.h"
#include "kernel/migration/digest.h"
#include "kernel/migration/proto.h"

#define KEY "correct horse battery staple"

static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1, 2, 3, 4 };
static const uint8_t nonce_b[MIG_NONCE_BYTES] = { 9, 8, 7, 6 };
static uint8_t page[MIG_PAGE_SIZE];

/* ---- CRC-32C and the page hashes ------------------------------------------------------ */

TEST(crc32c_known_values_by_instruction_and_table)
{
	static const char check[] = "123456789";

	for (int software = 0; software <= 1; software++) {
		crc32c_force_software(software);
		CHECK_EQ_U(crc32c(check, 9), 0xe3069283u);   /* the CRC-32C check value */
		CHECK_EQ_U(crc32c("", 0), 0);
		uint8_t zeros[32] = { 0 };
		CHECK_EQ_U(crc32c(zeros, sizeof(zeros)), 0x8a9136aau);   /* RFC 3720 B.4 */
	}
	crc32c_force_software(false);
	printf("  crc32c instruction in use here: %s\n", crc32c_hardware() ? "yes" : "no");
}

TEST(crc32c_instruction_and_table_agree_and_lanes_are_four_crcs)
{
	static uint8_t buf[4 * 1024 + 7];
	uint32_t lanes[CRC32C_LANES], hw[CRC32C_LANES], sw[CRC32C_LANES];

	srand(5);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t len = 0; len < 64; len++) {
		crc32c_force_software(true);
		uint32_t t = crc32c_update(~0u, buf + 3, len);
		crc32c_force_software(false);
		CHECK_EQ_U(crc32c_update(~0u, buf + 3, len), t);
	}
	for (int software = 0; software <= 1; software++) {
		uint32_t *out = software ? sw : hw;
		crc32c_force_software(software);
		for (unsigned i = 0; i < CRC32C_LANES; i++)
			out[i] = lanes[i] = 0x1234u * (i + 1);
		crc32c_update_lanes(out, buf, 1024);
		for (unsigned i = 0; i < CRC32C_LANES; i++)
			CHECK_EQ_U(out[i], crc32c_update(lanes[i], buf + i * 1024, 1024));
	}
	crc32c_force_software(false);
	for (unsigned i = 0; i < CRC32C_LANES; i++)
		CHECK_EQ_U(hw[i], sw[i]);
}

TEST(page_hashes_see_every_word_and_a_zero_page_is_null)
{
	for (unsigned hash = 0; hash < MIG_HASHES; hash++) {
		memset(page, 0, sizeof(page));
		CHECK_EQ_U(mig_page_hash(hash, NULL), mig_page_hash(hash, page));
		srand(hash + 1);
		for (size_t i = 0; i < sizeof(page); i++)
			page[i] = (uint8_t)rand();
		uint32_t h = mig_page_hash(hash, page);
		CHECK(h != mig_page_hash(hash, NULL));
		for (size_t at = 0; at < sizeof(page); at += 61) {
			page[at] ^= 0x10;
			CHECK(mig_page_hash(hash, page) != h);
			page[at] ^= 0x10;
		}
		CHECK_EQ_U(mig_page_hash(hash, page), h);
		/* Two words swapped across lanes change it too. */
		uint64_t w0, w1;
		memcpy(&w0, page, 8);
		memcpy(&w1, page + 8, 8);
		memcpy(page, &w1, 8);
		memcpy(page + 8, &w0, 8);
		CHECK(mig_page_hash(hash, page) != h);
	}
	CHECK(mig_page_hash(MIG_HASH_CRC32C, page) != mig_page_hash(MIG_HASH_MIX64, page));
	CHECK(strcmp(mig_hash_name(MIG_HASH_MIX64), "mix64") == 0);
}

TEST(sums_group_pages_in_order)
{
	uint32_t hashes[4] = { 1, 2, 3, 4 }, swapped[4] = { 2, 1, 3, 4 };

	CHECK_EQ_U(mig_digest_sum(hashes, 1), 1);
	CHECK(mig_digest_sum(hashes, 4) != mig_digest_sum(swapped, 4));
	CHECK(mig_digest_sum(hashes, 4) != mig_digest_sum(hashes, 3));
	/* 16 MiB: 4096 pages in 256 sums of 16; 1 GiB in 256 of 1024; never more than 256. */
	CHECK_EQ_U(mig_digest_group_pages(4096), 16);
	CHECK_EQ_U(mig_digest_group_pages(262144), 1024);
	CHECK_EQ_U(mig_digest_sum_count(4096, 16), 256);
	CHECK_EQ_U(mig_digest_sum_count(4097, mig_digest_group_pages(4097)), 241);
	CHECK_EQ_U(mig_digest_sum_count(4096, 1), 4096);
}

/* ---- the wire ----------------------------------------------------------------------------- */

static int decode(unsigned type, const uint8_t *payload, size_t len, struct mig_msg *m)
{
	m->header = (struct mig_header){ .type = (uint8_t)type, .length = (uint32_t)len };
	m->payload = payload;
	return mig_payload_decode(m, 0);
}

TEST(digest_and_verdict_round_trip_and_malformations)
{
	static uint8_t buf[MIG_DIGEST_MAX_BYTES + 8];
	static uint32_t entries[MIG_DIGEST_SUMS_MAX];
	uint32_t pages[MIG_DIGEST_NAMED_MAX] = { 5, 77 };
	struct mig_msg m;

	for (uint32_t i = 0; i < MIG_DIGEST_SUMS_MAX; i++)
		entries[i] = i * 2654435761u;
	size_t len = mig_encode_digest_sums(buf, 256, 16, 3, entries);
	CHECK_EQ_U(len, MIG_DIGEST_MIN_BYTES + 8);
	CHECK_EQ_I(decode(MIG_DIGEST, buf, len, &m), 0);
	CHECK(m.u.digest.kind == MIG_DIGEST_SUMS && m.u.digest.first == 256 &&
	      m.u.digest.group_pages == 16 && m.u.digest.count == 3);
	CHECK_EQ_U(mig_digest_entry(&m.u.digest, 2), entries[2]);
	CHECK_EQ_I(decode(MIG_DIGEST, buf, len - 4, &m), FERR_PROTO);   /* count disagrees */
	len = mig_encode_digest_sums(buf, 0, 1, MIG_DIGEST_SUMS_MAX, entries);
	CHECK_EQ_U(len, MIG_DIGEST_MAX_BYTES);
	CHECK_EQ_I(decode(MIG_DIGEST, buf, len, &m), 0);
	CHECK_EQ_U(mig_payload_max(MIG_DIGEST), MIG_DIGEST_MAX_BYTES);
	len = mig_encode_digest_sums(buf, 0, 0, 1, entries);            /* no pages a sum */
	CHECK_EQ_I(decode(MIG_DIGEST, buf, len, &m), FERR_PROTO);
	len = mig_encode_digest_sums(buf, 0, 1, 1, entries);
	mig_put32(buf + 8, 0);                                          /* no sums */
	CHECK_EQ_I(decode(MIG_DIGEST, buf, 12, &m), FERR_PROTO);

	len = mig_encode_digest_verdict(buf, 9, 2, pages);
	CHECK_EQ_I(decode(MIG_VERDICT, buf, len, &m), 0);
	CHECK(m.u.digest.kind == MIG_DIGEST_VERDICT && m.u.digest.differing == 9 &&
	      m.u.digest.named == 2 && m.u.digest.pages[1] == 77);
	len = mig_encode_digest_verdict(buf, 1, 2, pages);              /* names more than differ */
	CHECK_EQ_I(decode(MIG_VERDICT, buf, len, &m), FERR_PROTO);
	len = mig_encode_digest_verdict(buf, 0, 0, pages);
	CHECK_EQ_I(decode(MIG_VERDICT, buf, len, &m), 0);
	CHECK_EQ_I(decode(MIG_VERDICT, buf, len + 4, &m), FERR_PROTO);  /* a stray page */
	/* A VERDICT is small, as everything a destination sends. */
	CHECK_EQ_U(mig_payload_max(MIG_VERDICT), MIG_VERDICT_MAX_BYTES);
	CHECK(MIG_VERDICT_MAX_BYTES <= MIG_REASON_MAX_BYTES);
}

TEST(offer_carries_verify_and_hash)
{
	struct mig_offer o = { .memory_mib = 64, .page_size = MIG_PAGE_SIZE,
			       .verify = MIG_VERIFY_AFTER, .hash = MIG_HASH_MIX64 };
	uint8_t buf[MIG_OFFER_BYTES];
	struct mig_msg m;

	strcpy(o.name, "w");
	mig_encode_offer(buf, &o);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), &m), 0);
	CHECK_EQ_U(m.u.offer.verify, MIG_VERIFY_AFTER);
	CHECK_EQ_U(m.u.offer.hash, MIG_HASH_MIX64);
	o.verify = MIG_VERIFY_MODES;
	mig_encode_offer(buf, &o);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), &m), FERR_PROTO);
	o.verify = MIG_VERIFY_BEFORE;
	o.hash = MIG_HASH_MAX + 1;
	mig_encode_offer(buf, &o);
	CHECK_EQ_I(decode(MIG_OFFER, buf, sizeof(buf), &m), FERR_PROTO);
	CHECK(strcmp(mig_reason_name(MIG_REASON_DIGEST), "digest-mismatch") == 0);
	CHECK(strcmp(mig_verify_name(MIG_VERIFY_BEFORE), "before") == 0);
}

/* ---- the machines ---------------------------------------------------------------------- */

static bool always(void *ctx, uint64_t mib) { (void)ctx; (void)mib; return true; }
static bool name_free(void *ctx, const char *name) { (void)ctx; (void)name; return true; }

static struct mig_src src;
static struct mig_dst dst;
static uint8_t src_stream[MIG_WRITER_CAPACITY], dst_stream[MIG_FRAME_MAX];

static int to_dst(struct mig_dst_event *ev)
{
	const uint8_t *p;
	size_t len = mig_src_pending(&src, &p), used;
	int rc = mig_dst_input(&dst, p, len, &used, ev);
	mig_src_consume(&src, used);
	return rc;
}

static int to_src(struct mig_src_event *ev)
{
	const uint8_t *p;
	size_t len = mig_dst_pending(&dst, &p), used;
	int rc = mig_src_input(&src, p, len, &used, ev);
	mig_dst_consume(&dst, used);
	return rc;
}

/* A 16 MiB guest's migration up to the final round's end, with this verify mode. */
static void pair_to_final_round(unsigned verify)
{
	struct mig_dst_checks checks = { .host_features = { .leaf1_ecx = 1 },
					 .memory_available = always, .name_free = name_free };
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE,
			       .features = { .leaf1_ecx = 1 }, .verify = (uint8_t)verify };
	struct mig_dst_event dev;
	struct mig_src_event sev;

	strcpy(o.name, "g");
	mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	to_dst(&dev);
	to_src(&sev);
	to_dst(&dev);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_offer(&src, &o, src_stream, sizeof(src_stream)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_I(mig_dst_accept(&dst, dst_stream, sizeof(dst_stream)), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_page(&src, 1, NULL), 0);
	CHECK_EQ_I(mig_src_round_end(&src, true, NULL), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_PAGE);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_ROUND_END);
}

static void send_state(void)
{
	static const uint8_t state[16] = { 1 };
	struct mig_dst_event dev;

	CHECK_EQ_I(mig_src_state(&src, state, sizeof(state)), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_STATE);
}

TEST(verify_before_takes_the_sums_between_state_and_done)
{
	static uint32_t sums[MIG_DIGEST_GROUPS];
	struct mig_dst_event dev;
	struct mig_src_event sev;

	pair_to_final_round(MIG_VERIFY_BEFORE);
	CHECK_EQ_I(mig_src_digest(&src, 0, 16, 1, sums), FERR_INVAL);   /* before STATE */
	send_state();
	/* Half the sums, then the rest: 256 of 16 pages for 16 MiB. */
	CHECK_EQ_I(mig_src_digest(&src, 0, 16, 128, sums), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK(dev.kind == MIG_DST_EV_DIGEST && dev.digest.first == 0 && dev.digest.count == 128);
	CHECK(!mig_dst_digest_complete(&dst));
	CHECK_EQ_I(mig_src_digest(&src, 128, 16, 128, sums), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK(mig_dst_digest_complete(&dst));
	CHECK_EQ_I(mig_src_done(&src), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_VERIFIED);
	CHECK_EQ_I(mig_dst_ready(&dst), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_READY);
	mig_src_fini(&src);
	mig_dst_fini(&dst);

	/* DONE without the whole digest is refused; so are sums out of order or of another grouping. */
	pair_to_final_round(MIG_VERIFY_BEFORE);
	send_state();
	CHECK_EQ_I(mig_src_digest(&src, 0, 16, 100, sums), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_I(mig_src_done(&src), 0);
	CHECK(to_dst(&dev) < 0);
	mig_src_fini(&src);
	mig_dst_fini(&dst);
	pair_to_final_round(MIG_VERIFY_BEFORE);
	send_state();
	CHECK_EQ_I(mig_src_digest(&src, 1, 16, 10, sums), 0);
	CHECK(to_dst(&dev) < 0);
	mig_src_fini(&src);
	mig_dst_fini(&dst);
	pair_to_final_round(MIG_VERIFY_BEFORE);
	send_state();
	CHECK_EQ_I(mig_src_digest(&src, 0, 1, 10, sums), 0);
	CHECK(to_dst(&dev) < 0);
	mig_src_fini(&src);
	mig_dst_fini(&dst);
}

TEST(digest_without_verify_is_refused)
{
	static uint32_t sums[4];
	struct mig_dst_event dev;

	pair_to_final_round(MIG_VERIFY_OFF);
	send_state();
	CHECK_EQ_I(mig_src_digest(&src, 0, 16, 4, sums), FERR_INVAL);
	/* A source that sends one all the same (a hostile peer): a protocol error. */
	src.verify = MIG_VERIFY_BEFORE;
	CHECK_EQ_I(mig_src_digest(&src, 0, 16, 4, sums), 0);
	CHECK(to_dst(&dev) < 0);
	mig_src_fini(&src);
	mig_dst_fini(&dst);
}

TEST(verify_after_takes_the_sums_after_resumed_and_answers_once)
{
	static uint32_t sums[MIG_DIGEST_SUMS_MAX];
	uint32_t named[1] = { 42 };
	struct mig_dst_event dev;
	struct mig_src_event sev;

	pair_to_final_round(MIG_VERIFY_AFTER);
	send_state();
	CHECK_EQ_I(mig_src_digest(&src, 0, 1, 10, sums), FERR_INVAL);   /* not before RESUMED */
	CHECK_EQ_I(mig_src_done(&src), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_I(mig_dst_ready(&dst), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_I(mig_src_go(&src, 0), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK_EQ_U(dev.kind, MIG_DST_EV_GO);
	CHECK_EQ_I(mig_dst_verdict(&dst, 0, 0, NULL), FERR_INVAL);      /* nothing compared yet */
	CHECK_EQ_I(mig_dst_resumed(&dst, 1, 2), 0);
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK_EQ_U(sev.kind, MIG_SRC_EV_RESUMED);
	/* 4096 page hashes, in one message. */
	CHECK_EQ_I(mig_src_digest(&src, 0, 1, 4096, sums), 0);
	CHECK_EQ_I(to_dst(&dev), 1);
	CHECK(dev.kind == MIG_DST_EV_DIGEST && dev.digest.count == 4096);
	CHECK(mig_dst_digest_complete(&dst));
	CHECK_EQ_I(mig_dst_verdict(&dst, 1, 1, named), 0);
	CHECK_EQ_I(mig_dst_verdict(&dst, 1, 1, named), FERR_INVAL);     /* one verdict */
	CHECK_EQ_I(to_src(&sev), 1);
	CHECK(sev.kind == MIG_SRC_EV_VERDICT && sev.verdict.differing == 1 && sev.verdict.pages[0] == 42);
	CHECK_EQ_I(mig_src_digest(&src, 0, 1, 1, sums), FERR_INVAL);    /* after the verdict */
	mig_src_fini(&src);
	mig_dst_fini(&dst);
}

int main(void)
{
	return run_tests();
}
