/*
 * libFuzzer target: the destination state machine after a valid handshake and an
 * accepted offer (a 16 MiB guest). The first input byte picks the mode:
 *   even: the rest goes in as raw bytes (forged, truncated, replayed streams);
 *   odd:  the rest is a list of messages (u8 type, u16 length, payload) that are
 *         framed, numbered and tagged with the real session key, so the fuzzer
 *         reaches every state past the tag check.
 * The driver answers events as the engine would (accept, ready, resumed). Page
 * numbers over the guest's size, events out of order or a crash are findings.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/migration/proto.h"

#define KEY "fuzzing key 0123"
#define GUEST_PAGES 4096

static struct mig_src src;
static struct mig_dst dst;
static struct mig_writer forger;

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
		mig_dst_accept(&dst);
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
	static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1 }, nonce_b[MIG_NONCE_BYTES] = { 2 };
	struct mig_dst_checks checks = { .memory_available = always, .name_free = name_free };
	struct mig_offer o = { .migration_id = 1, .memory_mib = 16, .page_size = MIG_PAGE_SIZE };

	strcpy(o.name, "fuzz");
	mig_src_init(&src, (const uint8_t *)KEY, strlen(KEY), nonce_a);
	mig_dst_init(&dst, (const uint8_t *)KEY, strlen(KEY), nonce_b, &checks);
	src_to_dst();
	dst_to_src();
	src_to_dst();
	dst_to_src();
	mig_src_offer(&src, &o);
	src_to_dst();
	if (dst.state != MIG_DST_PRECOPY)
		__builtin_trap();   /* the valid handshake must work */
	mig_writer_init(&forger);
	forger.session = &src.session;
	forger.next_sequence = src.writer.next_sequence;
}

static void drive(const uint8_t *data, size_t len)
{
	size_t at = 0;
	int guard = 0;

	while (guard++ < 100000) {
		struct mig_dst_event ev;
		size_t used = 0;
		int rc = mig_dst_input(&dst, data + at, len - at, &used, &ev);
		if (used > len - at)
			__builtin_trap();
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
			if (ev.page >= GUEST_PAGES)
				__builtin_trap();
			if (ev.data && (ev.data[0] | ev.data[MIG_PAGE_SIZE - 1]) == 0x100)
				__builtin_trap();   /* touches both ends of the page data */
			break;
		case MIG_DST_EV_STATE:
			if (ev.state_len == 0 || ev.state_len > VM_SNAPSHOT_MAX_BYTES)
				__builtin_trap();
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
		while (at + 3 <= size) {
			unsigned type = data[at];
			size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
			at += 3;
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
