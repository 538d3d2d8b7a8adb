/*
 * libFuzzer target: the destination state machine after a valid handshake and an
 * accepted offer (a 16 MiB guest). The first input byte picks the mode:
 *   even: the rest goes in as raw bytes (forged, truncated, replayed streams);
 *   odd:  the rest is a list of messages (u8 type, u16 length, payload) that are
 *         framed and numbered in sequence, so the fuzzer reaches every state past
 *         the header checks.
 * The driver answers events as the engine would (ready, resumed). Findings: a crash
 * or sanitizer report; a feed that takes no bytes, gives no event and does not fail
 * outside the states that wait for the driver (a stall); a page number over the
 * guest's size; a state blob out of its limits; once the guest resumed (RESUMED
 * queued), anything but taking and ignoring every further byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "migration_fuzz.h"
#include "kernel/migration/proto.h"

#define GUEST_PAGES 4096
#define MSG_HEAD 3            /* odd mode: u8 type, u16 length */

static struct mig_src src;
static struct mig_dst dst;
/* The page stream's buffers, the caller's (mig_src_offer, mig_dst_accept). */
static uint8_t src_stream[MIG_WRITER_CAPACITY], dst_stream[MIG_FRAME_MAX];
static struct mig_writer forger;
static uint8_t forger_buf[MIG_WRITER_CAPACITY];

static bool always(void *ctx, uint64_t mib) { (void)ctx; (void)mib; return true; }
static bool name_free(void *ctx, const char *name) { (void)ctx; (void)name; return true; }

static void src_to_dst(void)
{
	const uint8_t *p;
	struct mig_dst_event ev;
	size_t len = mig_src_pending(&src, &p), used;

	while (len && mig_dst_input(&dst, p, len, &used, &ev) >= 0 && used) {
		mig_src_consume(&src, used);
		len = mig_src_pending(&src, &p);
	}
	if (dst.state == MIG_DST_OFFERED)
		mig_dst_accept(&dst, dst_stream, sizeof(dst_stream));
}

static void dst_to_src(void)
{
	const uint8_t *p;
	struct mig_src_event ev;
	size_t len = mig_dst_pending(&dst, &p), used;

	mig_src_input(&src, p, len, &used, &ev);
	mig_dst_consume(&dst, len);
}

static void setup(void)
{
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE };

	strcpy(o.name, "fuzz");
	mig_src_init(&src, (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY), fuzz_nonce_src);
	mig_dst_init(&dst, (const uint8_t *)FUZZ_KEY, strlen(FUZZ_KEY), fuzz_nonce_dst, &checks);
	src_to_dst();
	dst_to_src();
	src_to_dst();
	dst_to_src();
	mig_src_offer(&src, &o, src_stream, sizeof(src_stream));
	src_to_dst();
	FUZZ_CHECK(dst.state == MIG_DST_PRECOPY);   /* the valid handshake must work */
	mig_writer_init(&forger, forger_buf, sizeof(forger_buf));
	forger.next_sequence = src.writer.next_sequence;
}

static bool waits_for_driver(void)
{
	return dst.state == MIG_DST_VERIFIED || dst.state == MIG_DST_GO;
}

static void drive(const uint8_t *data, size_t len)
{
	size_t at = 0;

	for (;;) {
		struct mig_dst_event ev;
		size_t used = 0;
		bool resumed = dst.state == MIG_DST_FINISHED;
		int rc = mig_dst_input(&dst, data + at, len - at, &used, &ev);
		FUZZ_CHECK(used <= len - at);
		if (!waits_for_driver())
			FUZZ_CHECK_PROGRESS(rc, used, len - at);
		if (resumed)   /* nothing the source sends after GO changes anything */
			FUZZ_CHECK(rc == 0 && used == len - at && dst.state == MIG_DST_FINISHED);
		at += used;
		if (rc < 0)
			return;
		if (rc == 0) {
			if (dst.state == MIG_DST_VERIFIED)
				mig_dst_ready(&dst);
			else if (dst.state == MIG_DST_GO)
				mig_dst_resumed(&dst, 1, 1);
			else if (at == len)
				return;
			continue;
		}
		switch (ev.kind) {
		case MIG_DST_EV_PAGE:
			FUZZ_CHECK(ev.page < GUEST_PAGES);
			if (ev.data)
				FUZZ_CHECK((ev.data[0] | ev.data[MIG_PAGE_SIZE - 1]) != 0x100);   /* both ends readable */
			break;
		case MIG_DST_EV_STATE:
			FUZZ_CHECK(ev.state_len > 0 && ev.state_len <= VM_SNAPSHOT_MAX_BYTES);
			break;
		case MIG_DST_EV_VERIFIED:
			mig_dst_ready(&dst);
			break;
		case MIG_DST_EV_GO:
			mig_dst_resumed(&dst, 1, 1);
			break;
		default:
			break;
		}
	}
}

/* A whole valid migration after the handshake, as the real source sends it, then bytes after GO. */
static void write_seeds(void)
{
	static uint8_t stream[MIG_WRITER_CAPACITY], seed[1 + MIG_WRITER_CAPACITY + 64];
	static uint8_t page[MIG_PAGE_SIZE], state[100];
	const uint8_t *out;
	size_t n, len = 0;

	setup();
	dst_to_src();   /* ACCEPT: the source streams */
	memset(page, 0x33, sizeof(page));
	memset(state, 0x44, sizeof(state));
	mig_src_page(&src, 1, page);
	mig_src_page(&src, 2, NULL);
	mig_src_round_end(&src, false, NULL);
	mig_src_page(&src, 3, page);
	mig_src_round_end(&src, true, NULL);
	mig_src_state(&src, state, sizeof(state));
	mig_src_done(&src);
	n = mig_src_pending(&src, &out);
	memcpy(stream, out, n);
	len = n;
	src_to_dst();
	if (dst.state == MIG_DST_VERIFIED)
		mig_dst_ready(&dst);
	dst_to_src();
	if (mig_src_go(&src, 0) == 0) {
		n = mig_src_pending(&src, &out);
		memcpy(stream + len, out, n);
		len += n;
	}
	/* Raw: the stream, then a stray byte after GO. */
	seed[0] = 0;
	memcpy(seed + 1, stream, len);
	seed[1 + len] = 0x0a;
	fuzz_write_seed("stream-then-stray-byte", seed, 2 + len);
	/* Listed: the same messages as (type, length, payload). */
	size_t at = 0, k = 1;
	seed[0] = 1;
	while (at + MIG_HEADER_BYTES <= len) {
		struct mig_header h;
		mig_header_decode(stream + at, &h);
		seed[k] = h.type;
		seed[k + 1] = (uint8_t)h.length;
		seed[k + 2] = (uint8_t)(h.length >> 8);
		memcpy(seed + k + MSG_HEAD, stream + at + MIG_HEADER_BYTES, h.length);
		k += MSG_HEAD + h.length;
		at += MIG_HEADER_BYTES + h.length;
	}
	fuzz_write_seed("messages", seed, k);
	mig_src_fini(&src);
	mig_dst_fini(&dst);
}

static void fuzz_initialize(void)
{
	write_seeds();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stream[MIG_WRITER_CAPACITY];

	if (size < 1)
		return 0;
	setup();
	if ((data[0] & 1) == 0) {
		drive(data + 1, size - 1);
	} else {
		size_t at = 1;
		while (at + MSG_HEAD <= size) {
			unsigned type = data[at];
			size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
			at += MSG_HEAD;
			if (len > size - at)
				len = size - at;
			if (type == 0 || type >= MIG_TYPE_COUNT || len > mig_payload_max(type))
				break;
			uint8_t *p = mig_writer_begin(&forger, type);
			if (!p)
				break;
			memcpy(p, data + at, len);
			mig_writer_end(&forger, len);
			at += len;
			const uint8_t *out;
			size_t n = mig_writer_pending(&forger, &out);
			memcpy(stream, out, n);
			mig_writer_consume(&forger, n);
			drive(stream, n);
			if (dst.state == MIG_DST_CLOSED)
				break;
		}
	}
	mig_src_fini(&src);
	mig_dst_fini(&dst);
	return 0;
}
