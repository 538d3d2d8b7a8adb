/*
 * libFuzzer target: the migration stream decoder. The input is cut into chunks (sizes
 * from its first bytes) and fed to a reader without keys and to one with a session,
 * and each chunk is also decoded directly as a payload of every type. Any crash,
 * sanitizer report or broken invariant (a message over its limit, a page number over
 * the limit) is a finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/migration/auth.h"
#include "kernel/migration/channel.h"
#include "kernel/migration/wire.h"

#define PAGE_LIMIT 4096

static struct mig_reader plain, keyed;
static struct mig_session session;

static void check_msg(const struct mig_msg *m)
{
	if (m->header.length > mig_payload_max(m->header.type))
		__builtin_trap();
	if (m->header.type == MIG_PAGES) {
		struct mig_page_rec rec;
		size_t at = 0;
		unsigned count = 0;
		while (mig_pages_next(m->payload, m->header.length, &at, &rec)) {
			if (rec.page >= PAGE_LIMIT || ++count > MIG_BATCH_MAX_PAGES)
				__builtin_trap();
		}
		if (count != m->u.page_count)
			__builtin_trap();
	}
}

static void feed(struct mig_reader *r, const uint8_t *data, size_t size, size_t chunk)
{
	size_t at = 0;

	while (at < size) {
		struct mig_msg m;
		size_t used, n = size - at < chunk ? size - at : chunk;
		int rc = mig_reader_feed(r, data + at, n, &used, &m);
		if (used > n)
			__builtin_trap();
		at += used;
		if (rc < 0)
			return;
		if (rc == 1)
			check_msg(&m);
		else if (used == 0)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t nonce_a[MIG_NONCE_BYTES] = { 1 }, nonce_b[MIG_NONCE_BYTES] = { 2 };
	static int ready;
	size_t chunk;

	if (!ready) {
		mig_session_derive(&session, MIG_ROLE_DEST, (const uint8_t *)"fuzzing key 0123", 16,
				   nonce_a, nonce_b);
		ready = 1;
	}
	if (size < 2)
		return 0;
	chunk = 1 + ((size_t)data[0] << 8 | data[1]);
	data += 2;
	size -= 2;

	mig_reader_init(&plain);
	plain.page_limit = PAGE_LIMIT;
	feed(&plain, data, size, chunk);

	mig_reader_init(&keyed);
	keyed.session = &session;
	keyed.allow_untagged_abort = true;
	keyed.page_limit = PAGE_LIMIT;
	feed(&keyed, data, size, chunk);

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
