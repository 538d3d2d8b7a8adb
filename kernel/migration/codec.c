/*
 * Encoder and checking decoder of the migration wire format (wire.h).
 */
#include "kernel/migration/wire.h"

#include <string.h>

#include "kernel/lib/errors.h"

struct mig_type_info {
	const char *name;
	uint32_t min, max;
};

static const struct mig_type_info type_info[MIG_TYPE_COUNT] = {
	[MIG_HELLO]     = { "HELLO", MIG_HELLO_BYTES, MIG_HELLO_BYTES },
	[MIG_AUTH]      = { "AUTH", MIG_AUTH_BYTES, MIG_AUTH_BYTES },
	[MIG_OFFER]     = { "OFFER", MIG_OFFER_BYTES, MIG_OFFER_BYTES },
	[MIG_ACCEPT]    = { "ACCEPT", 0, 0 },
	[MIG_REFUSE]    = { "REFUSE", MIG_REASON_MIN_BYTES, MIG_REASON_MAX_BYTES },
	[MIG_PAGES]     = { "PAGES", MIG_PAGE_RECORD_HEADER, MIG_PAGES_MAX_PAYLOAD },
	[MIG_ROUND_END] = { "ROUND_END", MIG_ROUND_END_BYTES, MIG_ROUND_END_BYTES },
	[MIG_STATE]     = { "STATE", 1, VM_SNAPSHOT_MAX_BYTES },
	[MIG_DONE]      = { "DONE", MIG_DONE_BYTES, MIG_DONE_BYTES },
	[MIG_READY]     = { "READY", 0, 0 },
	[MIG_GO]        = { "GO", MIG_GO_BYTES, MIG_GO_BYTES },
	[MIG_RESUMED]   = { "RESUMED", MIG_RESUMED_BYTES, MIG_RESUMED_BYTES },
	[MIG_ABORT]     = { "ABORT", MIG_REASON_MIN_BYTES, MIG_REASON_MAX_BYTES },
	[MIG_QUERY]     = { "QUERY", MIG_QUERY_BYTES, MIG_QUERY_BYTES },
	[MIG_ANSWER]    = { "ANSWER", MIG_ANSWER_BYTES, MIG_ANSWER_BYTES },
	[MIG_DIGEST]    = { "DIGEST", MIG_DIGEST_MIN_BYTES, MIG_DIGEST_MAX_BYTES },
	[MIG_VERDICT]   = { "VERDICT", MIG_VERDICT_MIN_BYTES, MIG_VERDICT_MAX_BYTES },
};

/* Everything but the page stream fits a small frame (wire.h MIG_SMALL_FRAME_MAX). */
_Static_assert(MIG_HEADER_BYTES + MIG_OFFER_BYTES <= MIG_SMALL_FRAME_MAX,
	       "an OFFER must fit a small frame");
_Static_assert(MIG_HEADER_BYTES + MIG_HELLO_BYTES <= MIG_SMALL_FRAME_MAX,
	       "a HELLO must fit a small frame");
_Static_assert(MIG_TYPE_COUNT <= 32, "MIG_TYPE_BIT sets are 32 bits wide");
_Static_assert(MIG_HEADER_BYTES + MIG_VERDICT_MAX_BYTES <= MIG_SMALL_FRAME_MAX,
	       "a VERDICT must fit a small frame: a destination sends small messages only");

static const char *const answer_names[MIG_ANSWER_COUNT] = {
	[MIG_ANSWER_NONE] = "none", [MIG_ANSWER_RAN] = "running",
	[MIG_ANSWER_NEVER_RAN] = "never-ran", [MIG_ANSWER_UNKNOWN] = "unknown",
};

static const char *const reason_names[MIG_REASON_COUNT] = {
	[MIG_REASON_NONE] = "none",
	[MIG_REASON_VERSION] = "version",
	[MIG_REASON_NO_KEY] = "no-key",
	[MIG_REASON_AUTH] = "auth",
	[MIG_REASON_MEMORY] = "memory",
	[MIG_REASON_CPU] = "cpu-features",
	[MIG_REASON_NAME] = "name-taken",
	[MIG_REASON_INVALID] = "invalid-offer",
	[MIG_REASON_PROTOCOL] = "protocol",
	[MIG_REASON_CHECKSUM] = "checksum",
	[MIG_REASON_STATE] = "state",
	[MIG_REASON_CANCELLED] = "cancelled",
	[MIG_REASON_TIMEOUT] = "timeout",
	[MIG_REASON_NOT_CONVERGED] = "not-converged",
	[MIG_REASON_INTERNAL] = "internal",
	[MIG_REASON_VENDOR] = "cpu-vendor",
	[MIG_REASON_BUSY] = "busy",
	[MIG_REASON_DIGEST] = "digest-mismatch",
};

static const char *const verify_names[MIG_VERIFY_MODES] = {
	[MIG_VERIFY_OFF] = "off", [MIG_VERIFY_BEFORE] = "before", [MIG_VERIFY_AFTER] = "after",
};

static const char *const dirty_mode_names[MIG_DIRTY_MODES] = {
	[MIG_DIRTY_EPT_AD] = "ept-ad", [MIG_DIRTY_PML] = "pml",
	[MIG_DIRTY_NPT_AD] = "npt-ad", [MIG_DIRTY_NPT_WP] = "npt-wp",
};

unsigned mig_dirty_mode_code(const char *name)
{
	for (unsigned i = 0; name && i < MIG_DIRTY_MODES; i++)
		if (strcmp(name, dirty_mode_names[i]) == 0)
			return i;
	return MIG_DIRTY_EPT_AD;
}

const char *mig_dirty_mode_name(unsigned code)
{
	return code < MIG_DIRTY_MODES ? dirty_mode_names[code] : "?";
}

const char *mig_verify_name(unsigned mode)
{
	return mode < MIG_VERIFY_MODES ? verify_names[mode] : "?";
}

/* strnlen, which C11 lacks. */
static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static bool type_known(unsigned type)
{
	return type > 0 && type < MIG_TYPE_COUNT;
}

const char *mig_type_name(unsigned type)
{
	return type_known(type) ? type_info[type].name : "unknown";
}

const char *mig_reason_name(unsigned reason)
{
	return reason < MIG_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "unknown";
}

const char *mig_answer_name(unsigned answer)
{
	return answer < MIG_ANSWER_COUNT ? answer_names[answer] : "unknown";
}

size_t mig_payload_min(unsigned type)
{
	return type_known(type) ? type_info[type].min : 0;
}

size_t mig_payload_max(unsigned type)
{
	return type_known(type) ? type_info[type].max : 0;
}

void mig_header_encode(uint8_t *out, const struct mig_header *h)
{
	out[0] = h->type;
	out[1] = h->flags;
	mig_put16(out + 2, 0);
	mig_put32(out + 4, h->length);
	mig_put64(out + 8, h->sequence);
}

int mig_header_decode(const uint8_t *in, struct mig_header *h)
{
	h->type = in[0];
	h->flags = in[1];
	h->length = mig_get32(in + 4);
	h->sequence = mig_get64(in + 8);
	if (!type_known(h->type) || (h->flags & ~MIG_FLAGS_KNOWN) || mig_get16(in + 2) != 0)
		return FERR_PROTO;
	if (h->length < type_info[h->type].min || h->length > type_info[h->type].max)
		return FERR_TOOBIG;
	return 0;
}

bool mig_name_valid(const char *name)
{
	size_t len = bounded_len(name, MIG_NAME_BYTES);

	if (len == 0 || len > VM_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	return true;
}

bool mig_page_is_zero(const uint8_t *page)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < MIG_PAGE_SIZE; i += 8) {
		uint64_t word;
		memcpy(&word, page + i, sizeof(word));
		acc |= word;
	}
	return acc == 0;
}

/* ---- encoders ---------------------------------------------------------------------- */

size_t mig_encode_hello(uint8_t *out, const struct mig_hello *m)
{
	mig_put32(out, m->magic);
	mig_put16(out + 4, m->version);
	out[6] = m->role;
	out[7] = 0;
	memcpy(out + 8, m->nonce, MIG_NONCE_BYTES);
	return MIG_HELLO_BYTES;
}

static uint8_t *put_features(uint8_t *p, const struct cpu_features *f)
{
	const uint32_t words[8] = { f->leaf1_ecx, f->leaf1_edx, f->leaf7_ebx, f->leaf7_ecx,
				    f->leaf7_edx, f->ext1_ecx, f->ext1_edx, f->xsave_eax };

	for (unsigned i = 0; i < 8; i++, p += 4)
		mig_put32(p, words[i]);
	return p;
}

static const uint8_t *get_features(const uint8_t *p, struct cpu_features *f)
{
	uint32_t *const words[8] = { &f->leaf1_ecx, &f->leaf1_edx, &f->leaf7_ebx, &f->leaf7_ecx,
				     &f->leaf7_edx, &f->ext1_ecx, &f->ext1_edx, &f->xsave_eax };

	for (unsigned i = 0; i < 8; i++, p += 4)
		*words[i] = mig_get32(p);
	return p;
}

size_t mig_encode_offer(uint8_t *out, const struct mig_offer *m)
{
	uint8_t *p = out;

	mig_put64(p, m->migration_id);
	p += 8;
	memset(p, 0, MIG_NAME_BYTES);
	memcpy(p, m->name, bounded_len(m->name, VM_NAME_MAX));
	p += MIG_NAME_BYTES;
	mig_put32(p, m->memory_mib);
	p += 4;
	memcpy(p, m->mac, MIG_MAC_BYTES);
	p += MIG_MAC_BYTES;
	mig_put16(p, m->page_size);
	p += 2;
	p[0] = m->dirty_mode;
	p[1] = m->vendor;
	p += 2;
	p = put_features(p, &m->features);
	p[0] = m->verify;
	p[1] = m->hash;
	p += 2;
	return (size_t)(p - out);
}

size_t mig_encode_reason(uint8_t *out, unsigned reason, const char *text)
{
	size_t len = text ? bounded_len(text, MIG_TEXT_MAX) : 0;

	mig_put16(out, (uint16_t)reason);
	mig_put16(out + 2, (uint16_t)len);
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		out[4 + i] = (c >= ' ' && c <= '~') ? (uint8_t)c : '?';
	}
	return 4 + len;
}

size_t mig_encode_round_end(uint8_t *out, const struct mig_round_end *m)
{
	mig_put32(out, m->round);
	mig_put32(out + 4, m->flags);
	mig_put64(out + 8, m->pages);
	mig_put64(out + 16, m->bytes);
	return MIG_ROUND_END_BYTES;
}

size_t mig_encode_done(uint8_t *out, const struct mig_done *m)
{
	mig_put64(out, m->page_records);
	mig_put64(out + 8, m->state_bytes);
	mig_put64(out + 16, m->checksum);
	return MIG_DONE_BYTES;
}

size_t mig_encode_resumed(uint8_t *out, const struct mig_resumed *m)
{
	mig_put64(out, m->dest_downtime_ns);
	mig_put64(out + 8, m->dest_load_ns);
	return MIG_RESUMED_BYTES;
}

size_t mig_encode_query(uint8_t *out, uint64_t migration_id)
{
	mig_put64(out, migration_id);
	return MIG_QUERY_BYTES;
}

size_t mig_encode_go(uint8_t *out, uint64_t since_save_ns)
{
	mig_put64(out, since_save_ns);
	return MIG_GO_BYTES;
}

size_t mig_encode_answer(uint8_t *out, const struct mig_answer_msg *m)
{
	mig_put64(out, m->migration_id);
	out[8] = m->answer;
	out[9] = out[10] = out[11] = 0;
	return MIG_ANSWER_BYTES;
}

size_t mig_encode_digest_sums(uint8_t *out, uint32_t first, uint32_t group_pages, uint32_t count,
			      const uint32_t *entries)
{
	uint8_t *p = out;

	mig_put32(p, first);
	mig_put32(p + 4, group_pages);
	mig_put32(p + 8, count);
	p += 12;
	for (uint32_t i = 0; i < count; i++, p += 4)
		mig_put32(p, entries[i]);
	return (size_t)(p - out);
}

size_t mig_encode_digest_verdict(uint8_t *out, uint32_t differing, uint32_t named,
				 const uint32_t *pages)
{
	uint8_t *p = out;

	mig_put32(p, differing);
	mig_put32(p + 4, named);
	p += 8;
	for (uint32_t i = 0; i < named; i++, p += 4)
		mig_put32(p, pages[i]);
	return (size_t)(p - out);
}

size_t mig_encode_page(uint8_t *out, uint32_t page, const uint8_t *data)
{
	mig_put32(out, page);
	out[4] = data ? MIG_PAGE_FULL : MIG_PAGE_ZERO;
	out[5] = out[6] = out[7] = 0;
	if (!data)
		return MIG_PAGE_RECORD_HEADER;
	memcpy(out + MIG_PAGE_RECORD_HEADER, data, MIG_PAGE_SIZE);
	return MIG_PAGE_RECORD_HEADER + MIG_PAGE_SIZE;
}

/* ---- decoders ---------------------------------------------------------------------- */

bool mig_pages_next(const uint8_t *payload, size_t length, size_t *offset, struct mig_page_rec *rec)
{
	size_t at = *offset;

	if (at >= length || length - at < MIG_PAGE_RECORD_HEADER)
		return false;
	rec->page = mig_get32(payload + at);
	rec->kind = payload[at + 4];
	at += MIG_PAGE_RECORD_HEADER;
	rec->data = NULL;
	if (rec->kind == MIG_PAGE_FULL) {
		rec->data = payload + at;
		at += MIG_PAGE_SIZE;
	}
	*offset = at;
	return true;
}

static int decode_pages(struct mig_msg *msg, uint64_t page_limit)
{
	const uint8_t *p = msg->payload;
	size_t len = msg->header.length, at = 0;
	uint32_t count = 0;

	while (at < len) {
		if (len - at < MIG_PAGE_RECORD_HEADER)
			return FERR_PROTO;
		uint32_t page = mig_get32(p + at);
		uint8_t kind = p[at + 4];
		if (p[at + 5] || p[at + 6] || p[at + 7] || page >= page_limit)
			return FERR_PROTO;
		at += MIG_PAGE_RECORD_HEADER;
		if (kind == MIG_PAGE_FULL) {
			if (len - at < MIG_PAGE_SIZE)
				return FERR_PROTO;
			at += MIG_PAGE_SIZE;
		} else if (kind != MIG_PAGE_ZERO) {
			return FERR_PROTO;
		}
		if (++count > MIG_BATCH_MAX_PAGES)
			return FERR_PROTO;
	}
	msg->u.page_count = count;
	return 0;
}

static int decode_reason(struct mig_msg *msg)
{
	const uint8_t *p = msg->payload;
	uint16_t text_len = mig_get16(p + 2);

	/* Hostile input: the text no longer than the field, and exactly the payload's rest. */
	if (text_len > MIG_TEXT_MAX || (size_t)text_len + 4 != msg->header.length)
		return FERR_PROTO;
	msg->u.reason.reason = mig_get16(p);
	for (unsigned i = 0; i < text_len; i++) {
		uint8_t c = p[4 + i];
		if (c < ' ' || c > '~')
			return FERR_PROTO;
		msg->u.reason.text[i] = (char)c;
	}
	msg->u.reason.text[text_len] = '\0';
	return 0;
}

static int decode_offer(struct mig_msg *msg)
{
	const uint8_t *p = msg->payload;
	struct mig_offer *o = &msg->u.offer;

	o->migration_id = mig_get64(p);
	p += 8;
	memcpy(o->name, p, MIG_NAME_BYTES);
	/* The name field must be a valid name followed only by NUL padding. */
	size_t name_len = bounded_len(o->name, MIG_NAME_BYTES);
	if (name_len >= MIG_NAME_BYTES || !mig_name_valid(o->name))
		return FERR_PROTO;
	for (size_t i = name_len; i < MIG_NAME_BYTES; i++)
		if (p[i])
			return FERR_PROTO;
	p += MIG_NAME_BYTES;
	o->memory_mib = mig_get32(p);
	p += 4;
	memcpy(o->mac, p, MIG_MAC_BYTES);
	p += MIG_MAC_BYTES;
	o->page_size = mig_get16(p);
	p += 2;
	o->dirty_mode = p[0];
	o->vendor = p[1];
	if (o->dirty_mode >= MIG_DIRTY_MODES || o->vendor > MIG_VENDOR_MAX)
		return FERR_PROTO;
	p += 2;
	p = get_features(p, &o->features);
	o->verify = p[0];
	o->hash = p[1];
	if (o->verify >= MIG_VERIFY_MODES || o->hash > MIG_HASH_MAX)
		return FERR_PROTO;
	return 0;
}

/* DIGEST and VERDICT: counts within their limits, the length exact. */
static int decode_digest(struct mig_msg *msg)
{
	const uint8_t *p = msg->payload;
	size_t len = msg->header.length;
	struct mig_digest *d = &msg->u.digest;

	d->kind = msg->header.type == MIG_DIGEST ? MIG_DIGEST_SUMS : MIG_DIGEST_VERDICT;
	if (d->kind == MIG_DIGEST_SUMS) {
		d->first = mig_get32(p);
		d->group_pages = mig_get32(p + 4);
		d->count = mig_get32(p + 8);
		d->entries = p + 12;
		if (d->group_pages == 0 || d->count == 0 || d->count > MIG_DIGEST_SUMS_MAX ||
		    len != 12 + 4 * (size_t)d->count)
			return FERR_PROTO;
		return 0;
	}
	d->differing = mig_get32(p);
	d->named = mig_get32(p + 4);
	if (d->named > MIG_DIGEST_NAMED_MAX || d->named > d->differing || len != 8 + 4 * (size_t)d->named)
		return FERR_PROTO;
	for (uint32_t i = 0; i < d->named; i++)
		d->pages[i] = mig_get32(p + 8 + 4 * i);
	return 0;
}

int mig_payload_decode(struct mig_msg *msg, uint64_t page_limit)
{
	const uint8_t *p = msg->payload;
	size_t len = msg->header.length;

	if (len < mig_payload_min(msg->header.type) || len > mig_payload_max(msg->header.type))
		return FERR_PROTO;
	switch (msg->header.type) {
	case MIG_HELLO:
		msg->u.hello.magic = mig_get32(p);
		msg->u.hello.version = mig_get16(p + 4);
		msg->u.hello.role = p[6];
		if (p[7] != 0 || msg->u.hello.magic != MIG_HELLO_MAGIC)
			return FERR_PROTO;
		memcpy(msg->u.hello.nonce, p + 8, MIG_NONCE_BYTES);
		return 0;
	case MIG_AUTH:
		msg->u.auth = p;
		return 0;
	case MIG_OFFER:
		return decode_offer(msg);
	case MIG_REFUSE:
	case MIG_ABORT:
		return decode_reason(msg);
	case MIG_PAGES:
		return decode_pages(msg, page_limit);
	case MIG_ROUND_END:
		msg->u.round_end.round = mig_get32(p);
		msg->u.round_end.flags = mig_get32(p + 4);
		msg->u.round_end.pages = mig_get64(p + 8);
		msg->u.round_end.bytes = mig_get64(p + 16);
		return (msg->u.round_end.flags & ~MIG_ROUND_FINAL) ? FERR_PROTO : 0;
	case MIG_DONE:
		msg->u.done.page_records = mig_get64(p);
		msg->u.done.state_bytes = mig_get64(p + 8);
		msg->u.done.checksum = mig_get64(p + 16);
		return 0;
	case MIG_RESUMED:
		msg->u.resumed.dest_downtime_ns = mig_get64(p);
		msg->u.resumed.dest_load_ns = mig_get64(p + 8);
		return 0;
	case MIG_QUERY:
		msg->u.query_id = mig_get64(p);
		return 0;
	case MIG_ANSWER:
		msg->u.answer.migration_id = mig_get64(p);
		msg->u.answer.answer = p[8];
		if (p[9] || p[10] || p[11] || p[8] == MIG_ANSWER_NONE || p[8] >= MIG_ANSWER_COUNT)
			return FERR_PROTO;
		return 0;
	case MIG_DIGEST:
	case MIG_VERDICT:
		return decode_digest(msg);
	case MIG_GO:
		msg->u.go_since_save_ns = mig_get64(p);
		return 0;
	case MIG_ACCEPT:
	case MIG_STATE:
	case MIG_READY:
		return 0;
	default:
		return FERR_PROTO;
	}
}
