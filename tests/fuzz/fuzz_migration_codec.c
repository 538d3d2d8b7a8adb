/*
 * libFuzzer target: the migration stream reader (channel.c) and payload codec
 * (codec.c). The input's first two bytes give a chunk size; the rest is cut into
 * chunks of that size and fed to a reader accepting every type, and is also decoded
 * as a payload of every type.
 * Findings: a crash or sanitizer report; a feed that takes no bytes without giving
 * a message or failing (the reader stalled); a message over its type's limits or
 * its buffer; a page record at or over the page limit; a payload that decodes but
 * does not encode back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "migration_fuzz.h"
#include "kernel/migration/channel.h"
#include "kernel/migration/wire.h"

#define PAGE_LIMIT 4096
#define ALL_TYPES 0xffffffffu

static struct mig_reader reader;
static uint8_t reader_buf[MIG_FRAME_MAX];

/* The payload encoded again from what the decoder made of it; its length, or 0 when opaque. */
static size_t reencode(const struct mig_msg *m, uint8_t *out)
{
	const uint8_t *p = m->payload;
	size_t len = 0, at = 0;
	struct mig_page_rec rec;

	switch (m->header.type) {
	case MIG_HELLO:     return mig_encode_hello(out, &m->u.hello);
	case MIG_OFFER:     return mig_encode_offer(out, &m->u.offer);
	case MIG_REFUSE:
	case MIG_ABORT:     return mig_encode_reason(out, m->u.reason.reason, m->u.reason.text);
	case MIG_ROUND_END: return mig_encode_round_end(out, &m->u.round_end);
	case MIG_DONE:      return mig_encode_done(out, &m->u.done);
	case MIG_RESUMED:   return mig_encode_resumed(out, &m->u.resumed);
	case MIG_QUERY:     return mig_encode_query(out, m->u.query_id);
	case MIG_ANSWER:    return mig_encode_answer(out, &m->u.answer);
	case MIG_PAGES:
		while (mig_pages_next(p, m->header.length, &at, &rec))
			len += mig_encode_page(out + len, rec.page, rec.data);
		return len;
	default:
		return 0;   /* AUTH, STATE: opaque bytes; ACCEPT, READY, GO: empty */
	}
}

static void check_msg(const struct mig_msg *m)
{
	static uint8_t again[MIG_PAGES_MAX_PAYLOAD];

	FUZZ_CHECK(m->header.length >= mig_payload_min(m->header.type));
	FUZZ_CHECK(m->header.length <= mig_payload_max(m->header.type));
	if (m->header.type == MIG_PAGES) {
		struct mig_page_rec rec;
		size_t at = 0;
		unsigned count = 0;
		while (mig_pages_next(m->payload, m->header.length, &at, &rec))
			FUZZ_CHECK(rec.page < PAGE_LIMIT && ++count <= MIG_BATCH_MAX_PAGES);
		FUZZ_CHECK(count == m->u.page_count);
	}
	size_t n = reencode(m, again);
	if (n)
		FUZZ_CHECK(n == m->header.length && memcmp(again, m->payload, n) == 0);
}

static void feed(struct mig_reader *r, const uint8_t *data, size_t size, size_t chunk)
{
	size_t at = 0;

	while (at < size) {
		struct mig_msg m;
		size_t used, n = size - at < chunk ? size - at : chunk;
		int rc = mig_reader_feed(r, data + at, n, &used, &m);
		FUZZ_CHECK(used <= n);
		FUZZ_CHECK_PROGRESS(rc, used, n);
		at += used;
		if (rc < 0)
			return;
		if (rc == 1) {
			FUZZ_CHECK(used > 0);
			check_msg(&m);
		}
	}
}

/* Frames of every type, fed in chunks of 8 and of 256 bytes: where mutation starts. */
static void write_seeds(void)
{
	static uint8_t seed[2 + MIG_SMALL_FRAME_MAX * 2 + MIG_FRAME_MAX];
	static uint8_t wbuf[MIG_WRITER_CAPACITY];
	static uint8_t payload[MIG_PAGES_MAX_PAYLOAD];
	struct mig_writer w;
	char name[32];

	for (unsigned small = 0; small < 2; small++)
		for (unsigned type = 1; type < MIG_TYPE_COUNT; type++) {
			size_t len = mig_payload_min(type), n;
			const uint8_t *out;
			memset(payload, 0, sizeof(payload));
			if (type == MIG_HELLO) {
				struct mig_hello h = { .magic = MIG_HELLO_MAGIC, .version = MIG_PROTO_VERSION,
						       .role = MIG_ROLE_SOURCE };
				len = mig_encode_hello(payload, &h);
			} else if (type == MIG_OFFER) {
				struct mig_offer o = { .migration_id = 7, .memory_mib = 16,
						       .page_size = MIG_PAGE_SIZE };
				strcpy(o.name, "seed");
				len = mig_encode_offer(payload, &o);
			} else if (type == MIG_REFUSE || type == MIG_ABORT) {
				len = mig_encode_reason(payload, MIG_REASON_PROTOCOL, "seed");
			} else if (type == MIG_PAGES) {
				static uint8_t page[MIG_PAGE_SIZE];
				memset(page, 0x5a, sizeof(page));
				len = mig_encode_page(payload, 1, NULL);
				len += mig_encode_page(payload + len, 2, page);
			} else if (type == MIG_ANSWER) {
				struct mig_answer_msg a = { .migration_id = 7, .answer = MIG_ANSWER_RAN };
				len = mig_encode_answer(payload, &a);
			}
			mig_writer_init(&w, wbuf, sizeof(wbuf));
			mig_writer_put(&w, type, payload, len);
			n = mig_writer_pending(&w, &out);
			seed[0] = 0;
			seed[1] = (uint8_t)(small ? 7 : 0xff);   /* chunks of 8 or 256 bytes */
			memcpy(seed + 2, out, n);
			snprintf(name, sizeof(name), "%s-%s", mig_type_name(type), small ? "chunk8" : "chunk256");
			fuzz_write_seed(name, seed, 2 + n);
		}
}

static void fuzz_initialize(void)
{
	write_seeds();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (size < 2)
		return 0;
	chunk = 1 + ((size_t)data[0] << 8 | data[1]);
	data += 2;
	size -= 2;

	mig_reader_init(&reader, reader_buf, sizeof(reader_buf));
	reader.accept = ALL_TYPES;
	reader.page_limit = PAGE_LIMIT;
	feed(&reader, data, size, chunk);

	/* The payload decoder on its own, for every type. */
	for (unsigned type = 1; type < MIG_TYPE_COUNT; type++) {
		struct mig_msg m = { .header = { .type = (uint8_t)type,
						 .length = (uint32_t)(size > mig_payload_max(type)
								      ? mig_payload_max(type) : size) },
				     .payload = data };
		if (m.header.length >= mig_payload_min(type) && mig_payload_decode(&m, PAGE_LIMIT) == 0)
			check_msg(&m);
	}
	return 0;
}
