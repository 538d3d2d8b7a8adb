/*
 * The destination side of the migration protocol (proto.h).
 */
#include "kernel/migration/proto.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/migration/digest.h"

static int dst_fail(struct mig_dst *d, int err, const char *why)
{
	fmt_snprintf(d->error, sizeof(d->error), "%s", why);
	d->state = MIG_DST_CLOSED;
	return err;
}

/* Queues ABORT with a reason and fails (for errors the source should hear about). */
static int dst_fail_abort(struct mig_dst *d, int err, unsigned reason, const char *why)
{
	mig_dst_abort(d, reason, why);
	return dst_fail(d, err, why);
}

void mig_dst_init(struct mig_dst *d, const uint8_t *psk, size_t psk_len,
		  const uint8_t nonce[MIG_NONCE_BYTES], const struct mig_dst_checks *checks)
{
	memset(&d->session, 0, sizeof(d->session));
	d->state = MIG_DST_WAIT_HELLO;
	d->psk = psk;
	d->psk_len = psk_len;
	memcpy(d->nonce, nonce, MIG_NONCE_BYTES);
	d->checks = *checks;
	memset(&d->offer, 0, sizeof(d->offer));
	d->query_id = 0;
	d->pages = NULL;
	d->pages_len = d->pages_at = 0;
	d->round_pages = d->round_bytes = d->pages_total = d->state_bytes = 0;
	d->next_round = 0;
	d->digest_next = 0;
	d->verdict_sent = false;
	d->error[0] = '\0';
	mig_stream_sum_init(&d->checksum);
	mig_reader_init(&d->reader, d->in, sizeof(d->in));
	mig_writer_init(&d->writer, d->out, sizeof(d->out));
}

void mig_dst_fini(struct mig_dst *d)
{
	mig_session_wipe(&d->session);
	d->state = MIG_DST_CLOSED;
}

static bool digest_complete(const struct mig_dst *d);

/* DIGEST while the verify mode still expects sums in this state (wire.h, docs/migration.md). */
static uint32_t dst_accepts_digest(const struct mig_dst *d, enum mig_verify when)
{
	return d->offer.verify == when && !digest_complete(d) ? MIG_TYPE_BIT(MIG_DIGEST) : 0;
}

/* The types a source may send in each state: the reader refuses others from their header. */
static uint32_t dst_accepts(const struct mig_dst *d)
{
	const uint32_t abort = MIG_TYPE_BIT(MIG_ABORT);

	switch (d->state) {
	case MIG_DST_WAIT_HELLO:  return abort | MIG_TYPE_BIT(MIG_HELLO);
	case MIG_DST_WAIT_AUTH:   return abort | MIG_TYPE_BIT(MIG_AUTH);
	case MIG_DST_WAIT_OFFER:  return abort | MIG_TYPE_BIT(MIG_OFFER) | MIG_TYPE_BIT(MIG_QUERY);
	case MIG_DST_PRECOPY:     return abort | MIG_TYPE_BIT(MIG_PAGES) | MIG_TYPE_BIT(MIG_ROUND_END);
	case MIG_DST_WAIT_STATE:  return abort | MIG_TYPE_BIT(MIG_STATE);
	case MIG_DST_WAIT_DONE:   return abort | MIG_TYPE_BIT(MIG_DONE) | dst_accepts_digest(d, MIG_VERIFY_BEFORE);
	case MIG_DST_WAIT_GO:     return abort | MIG_TYPE_BIT(MIG_GO);
	case MIG_DST_FINISHED:    return dst_accepts_digest(d, MIG_VERIFY_AFTER);   /* no ABORT: it runs here */
	case MIG_DST_OFFERED:
	case MIG_DST_QUERIED:
	case MIG_DST_ANSWERED:
	case MIG_DST_VERIFIED:
	case MIG_DST_GO:
	case MIG_DST_CLOSED:      return 0;
	}
	return 0;
}

static void put_reason(struct mig_dst *d, unsigned type, unsigned reason, const char *text)
{
	uint8_t payload[MIG_REASON_MAX_BYTES];
	size_t len = mig_encode_reason(payload, reason, text);

	mig_writer_put(&d->writer, type, payload, len);
}

/* Checks an OFFER; 0, or queues REFUSE and fills *ev (returns 1). */
static int check_offer(struct mig_dst *d, const struct mig_offer *o, struct mig_dst_event *ev)
{
	struct cpu_features missing;
	unsigned reason = MIG_REASON_NONE;
	char why[MIG_TEXT_MAX + 1];

	if (o->page_size != MIG_PAGE_SIZE || o->memory_mib < VM_MIN_MEMORY_MIB ||
	    o->memory_mib > VM_MAX_MEMORY_MIB) {
		reason = MIG_REASON_INVALID;
		fmt_snprintf(why, sizeof(why), "offer out of range: memory %u MiB, page size %u",
			     o->memory_mib, o->page_size);
	} else if (o->vendor != d->checks.host_vendor) {
		reason = MIG_REASON_VENDOR;
		fmt_snprintf(why, sizeof(why), "%s", cpu_vendor_mismatch(o->vendor, d->checks.host_vendor));
	} else if (!d->checks.name_free(d->checks.ctx, o->name)) {
		reason = MIG_REASON_NAME;
		fmt_snprintf(why, sizeof(why), "a guest named %s exists on the destination", o->name);
	} else if (!cpu_features_subset(&o->features, &d->checks.host_features, &missing)) {
		char bits[CPU_FEATURES_TEXT_MAX + 1];
		reason = MIG_REASON_CPU;
		cpu_features_format(&missing, bits, sizeof(bits));
		fmt_snprintf(why, sizeof(why), "destination CPU lacks %s", bits);
	} else if (!d->checks.memory_available(d->checks.ctx, o->memory_mib)) {
		reason = MIG_REASON_MEMORY;
		fmt_snprintf(why, sizeof(why), "destination has no room for %u MiB", o->memory_mib);
	}
	if (reason == MIG_REASON_NONE)
		return 0;
	put_reason(d, MIG_REFUSE, reason, why);
	ev->kind = MIG_DST_EV_REFUSED;
	ev->reason = (uint16_t)reason;
	memcpy(ev->text, why, sizeof(ev->text));
	dst_fail(d, FERR_BUSY, why);
	return 1;
}

/* The sums of a digest cover the guest's pages in this many entries, each of group_pages. */
static uint32_t digest_group_pages(const struct mig_dst *d)
{
	return d->offer.verify == MIG_VERIFY_BEFORE ? mig_digest_group_pages(d->reader.page_limit) : 1;
}

static bool digest_complete(const struct mig_dst *d)
{
	return d->digest_next == mig_digest_sum_count(d->reader.page_limit, digest_group_pages(d));
}

bool mig_dst_digest_complete(const struct mig_dst *d)
{
	return d->offer.verify != MIG_VERIFY_OFF && digest_complete(d);
}

/*
 * A DIGEST of sums: in order, of the grouping the verify mode asks for, within the
 * guest's pages. 1 with *ev filled, or a protocol failure.
 */
static int digest_sums(struct mig_dst *d, const struct mig_digest *g, struct mig_dst_event *ev)
{
	uint32_t total = mig_digest_sum_count(d->reader.page_limit, digest_group_pages(d));

	if (g->kind != MIG_DIGEST_SUMS || g->group_pages != digest_group_pages(d) ||
	    g->first != d->digest_next || g->count > total - g->first)
		return dst_fail_abort(d, FERR_PROTO, MIG_REASON_PROTOCOL,
				      "digest out of order or of the wrong grouping");
	d->digest_next += g->count;
	ev->kind = MIG_DST_EV_DIGEST;
	ev->digest = *g;
	return 1;
}

static int dst_handle(struct mig_dst *d, const struct mig_msg *m, struct mig_dst_event *ev)
{
	unsigned type = m->header.type;
	uint8_t payload[MIG_HELLO_BYTES];

	if (type == MIG_ABORT && d->state != MIG_DST_FINISHED && d->state != MIG_DST_GO) {
		ev->kind = MIG_DST_EV_ABORTED;
		ev->reason = m->u.reason.reason;
		memcpy(ev->text, m->u.reason.text, sizeof(ev->text));
		d->state = MIG_DST_CLOSED;
		return 1;
	}
	switch (d->state) {
	case MIG_DST_WAIT_HELLO: {
		struct mig_hello hello = { .magic = MIG_HELLO_MAGIC, .version = MIG_PROTO_VERSION,
					   .role = MIG_ROLE_DEST };
		if (type != MIG_HELLO)
			break;
		if (m->u.hello.role != MIG_ROLE_SOURCE)
			return dst_fail_abort(d, FERR_PROTO, MIG_REASON_PROTOCOL,
					      "peer is not a migration source");
		if (m->u.hello.version != MIG_PROTO_VERSION)
			return dst_fail_abort(d, FERR_NOTSUP, MIG_REASON_VERSION,
					      "destination speaks protocol v1 only");
		if (d->psk_len == 0)
			return dst_fail_abort(d, FERR_AUTH, MIG_REASON_NO_KEY,
					      "destination has no migration_key configured");
		memcpy(hello.nonce, d->nonce, MIG_NONCE_BYTES);
		mig_encode_hello(payload, &hello);
		mig_writer_put(&d->writer, MIG_HELLO, payload, sizeof(payload));
		mig_session_derive(&d->session, MIG_ROLE_DEST, d->psk, d->psk_len, d->nonce,
				   m->u.hello.nonce);
		d->state = MIG_DST_WAIT_AUTH;
		return 0;
	}
	case MIG_DST_WAIT_AUTH: {
		uint8_t response[MIG_AUTH_BYTES];
		if (type != MIG_AUTH)
			break;
		if (!mig_session_auth_check(&d->session, m->u.auth)) {
			put_reason(d, MIG_ABORT, MIG_REASON_AUTH, "wrong migration key");
			return dst_fail(d, FERR_AUTH, "source does not hold our migration key");
		}
		mig_session_auth_response(&d->session, response);
		mig_writer_put(&d->writer, MIG_AUTH, response, sizeof(response));
		d->state = MIG_DST_WAIT_OFFER;
		ev->kind = MIG_DST_EV_AUTHENTICATED;
		return 1;
	}
	case MIG_DST_WAIT_OFFER:
		if (type == MIG_QUERY) {
			d->query_id = m->u.query_id;
			d->state = MIG_DST_QUERIED;
			ev->kind = MIG_DST_EV_QUERY;
			ev->migration_id = m->u.query_id;
			return 1;
		}
		if (type != MIG_OFFER)
			break;
		d->offer = m->u.offer;
		if (check_offer(d, &d->offer, ev))
			return 1;
		d->reader.page_limit = (uint64_t)d->offer.memory_mib << (MIB_SHIFT - MIG_PAGE_SHIFT);
		d->state = MIG_DST_OFFERED;
		ev->kind = MIG_DST_EV_OFFER;
		return 1;
	case MIG_DST_PRECOPY:
		if (type == MIG_PAGES) {
			d->pages = m->payload;
			d->pages_len = m->header.length;
			d->pages_at = 0;
			d->round_bytes += MIG_HEADER_BYTES + m->header.length;
			return 0;
		}
		if (type == MIG_ROUND_END) {
			const struct mig_round_end *r = &m->u.round_end;
			if (r->round != d->next_round || r->pages != d->round_pages ||
			    r->bytes != d->round_bytes)
				return dst_fail_abort(d, FERR_PROTO, MIG_REASON_PROTOCOL,
						      "round summary does not match the pages received");
			d->next_round++;
			d->round_pages = d->round_bytes = 0;
			if (r->flags & MIG_ROUND_FINAL)
				d->state = MIG_DST_WAIT_STATE;
			ev->kind = MIG_DST_EV_ROUND_END;
			ev->round = *r;
			return 1;
		}
		break;
	case MIG_DST_WAIT_STATE:
		if (type != MIG_STATE)
			break;
		mig_stream_sum_state(&d->checksum, m->payload, m->header.length);
		d->state_bytes = m->header.length;
		d->state = MIG_DST_WAIT_DONE;
		ev->kind = MIG_DST_EV_STATE;
		ev->state = m->payload;
		ev->state_len = m->header.length;
		return 1;
	case MIG_DST_WAIT_DONE: {
		if (type == MIG_DIGEST && d->offer.verify == MIG_VERIFY_BEFORE && !digest_complete(d))
			return digest_sums(d, &m->u.digest, ev);
		if (type != MIG_DONE)
			break;
		if (d->offer.verify == MIG_VERIFY_BEFORE && !digest_complete(d))
			return dst_fail_abort(d, FERR_PROTO, MIG_REASON_PROTOCOL,
					      "DONE before the whole digest (verify=before)");
		if (m->u.done.page_records != d->pages_total ||
		    m->u.done.state_bytes != d->state_bytes ||
		    m->u.done.checksum != mig_stream_sum_final(&d->checksum))
			return dst_fail_abort(d, FERR_PROTO, MIG_REASON_CHECKSUM,
					      "stream checksum mismatch");
		d->state = MIG_DST_VERIFIED;
		ev->kind = MIG_DST_EV_VERIFIED;
		return 1;
	}
	case MIG_DST_WAIT_GO:
		if (type != MIG_GO)
			break;
		d->state = MIG_DST_GO;
		ev->kind = MIG_DST_EV_GO;
		ev->go_since_save_ns = m->u.go_since_save_ns;
		return 1;
	case MIG_DST_FINISHED:
		/* verify=after: the source's sums, until every one came. */
		if (type == MIG_DIGEST && d->offer.verify == MIG_VERIFY_AFTER && !digest_complete(d))
			return digest_sums(d, &m->u.digest, ev);
		break;
	default:
		break;
	}
	char why[MIG_TEXT_MAX + 1];
	fmt_snprintf(why, sizeof(why), "unexpected %s from source", mig_type_name(type));
	return dst_fail_abort(d, FERR_PROTO, MIG_REASON_PROTOCOL, why);
}

/* Hands out the next record of the PAGES message being walked; 1 when *ev was filled. */
static int next_page(struct mig_dst *d, struct mig_dst_event *ev)
{
	struct mig_page_rec rec;

	if (!d->pages)
		return 0;
	if (!mig_pages_next(d->pages, d->pages_len, &d->pages_at, &rec)) {
		d->pages = NULL;
		return 0;
	}
	mig_stream_sum_page(&d->checksum, rec.page, rec.data);
	d->round_pages++;
	d->pages_total++;
	ev->kind = MIG_DST_EV_PAGE;
	ev->page = rec.page;
	ev->data = rec.data;
	return 1;
}

/* Why the reader refused the source's bytes, for d->error and the ABORT. */
static const char *dst_read_error(struct mig_dst *d, int rc, char *buf, size_t size)
{
	if (d->reader.unexpected_type) {
		fmt_snprintf(buf, size, "unexpected %s from source",
			     mig_type_name(d->reader.unexpected_type));
		return buf;
	}
	return rc == FERR_TOOBIG ? "oversized message from source"
		: "malformed message from source";
}

/* States in which the machine waits for the engine's answer to the event it gave. */
static bool waits_for_engine(enum mig_dst_state state)
{
	return state == MIG_DST_OFFERED || state == MIG_DST_QUERIED ||
	       state == MIG_DST_VERIFIED || state == MIG_DST_GO;
}

int mig_dst_input(struct mig_dst *d, const uint8_t *data, size_t len, size_t *used,
		  struct mig_dst_event *ev)
{
	size_t total = 0;

	*used = 0;
	if (next_page(d, ev))
		return 1;
	if (d->state == MIG_DST_CLOSED)
		return len ? FERR_PROTO : 0;
	/* The guest runs here, or the answer is given: nothing to change (but verify=after's sums). */
	if ((d->state == MIG_DST_FINISHED && !dst_accepts(d)) || d->state == MIG_DST_ANSWERED) {
		*used = len;
		return 0;
	}
	if (waits_for_engine(d->state))
		return 0;
	while (total < len) {
		struct mig_msg m;
		size_t n;
		char why[MIG_TEXT_MAX + 1];

		d->reader.accept = dst_accepts(d);
		int rc = mig_reader_feed(&d->reader, data + total, len - total, &n, &m);
		total += n;
		*used = total;
		if (rc < 0)
			return dst_fail_abort(d, rc, rc == FERR_AUTH ? MIG_REASON_AUTH
					      : MIG_REASON_PROTOCOL, dst_read_error(d, rc, why, sizeof(why)));
		if (rc == 0 && n == 0)
			return dst_fail_abort(d, FERR_PROTO, MIG_REASON_INTERNAL,
					      "the reader took no bytes (a Ferry bug)");
		if (rc == 1) {
			rc = dst_handle(d, &m, ev);
			if (rc != 0)
				return rc;
			if (next_page(d, ev))
				return 1;
			if (waits_for_engine(d->state))
				return 0;
		}
	}
	return 0;
}

int mig_dst_accept(struct mig_dst *d, uint8_t *stream_buf, size_t stream_cap)
{
	if (d->state != MIG_DST_OFFERED || !stream_buf || stream_cap < MIG_FRAME_MAX)
		return FERR_INVAL;
	if (!mig_writer_has_room(&d->writer, MIG_ACCEPT) ||
	    mig_reader_rebuffer(&d->reader, stream_buf, stream_cap))
		return FERR_BUSY;
	mig_writer_put(&d->writer, MIG_ACCEPT, NULL, 0);
	d->state = MIG_DST_PRECOPY;
	return 0;
}

int mig_dst_refuse(struct mig_dst *d, unsigned reason, const char *text)
{
	if (d->state != MIG_DST_OFFERED)
		return FERR_INVAL;
	put_reason(d, MIG_REFUSE, reason, text);
	dst_fail(d, FERR_BUSY, text);
	return 0;
}

int mig_dst_ready(struct mig_dst *d)
{
	if (d->state != MIG_DST_VERIFIED)
		return FERR_INVAL;
	if (mig_writer_put(&d->writer, MIG_READY, NULL, 0))
		return FERR_BUSY;
	d->state = MIG_DST_WAIT_GO;
	return 0;
}

int mig_dst_resumed(struct mig_dst *d, uint64_t downtime_ns, uint64_t load_ns)
{
	uint8_t payload[MIG_RESUMED_BYTES];
	struct mig_resumed r = { .dest_downtime_ns = downtime_ns, .dest_load_ns = load_ns };

	if (d->state != MIG_DST_GO)
		return FERR_INVAL;
	mig_encode_resumed(payload, &r);
	if (mig_writer_put(&d->writer, MIG_RESUMED, payload, sizeof(payload)))
		return FERR_BUSY;
	d->state = MIG_DST_FINISHED;
	return 0;
}

int mig_dst_verdict(struct mig_dst *d, uint32_t differing, uint32_t named, const uint32_t *pages)
{
	uint8_t *p;

	if (d->state != MIG_DST_FINISHED || d->offer.verify != MIG_VERIFY_AFTER || d->verdict_sent ||
	    !digest_complete(d) || named > MIG_DIGEST_NAMED_MAX || named > differing)
		return FERR_INVAL;
	p = mig_writer_begin(&d->writer, MIG_VERDICT);
	if (!p)
		return FERR_BUSY;
	mig_writer_end(&d->writer, mig_encode_digest_verdict(p, differing, named, pages));
	d->verdict_sent = true;
	return 0;
}

int mig_dst_answer(struct mig_dst *d, unsigned answer)
{
	uint8_t payload[MIG_ANSWER_BYTES];
	struct mig_answer_msg a = { .migration_id = 0, .answer = (uint8_t)answer };

	if (d->state != MIG_DST_QUERIED || answer == MIG_ANSWER_NONE || answer >= MIG_ANSWER_COUNT)
		return FERR_INVAL;
	a.migration_id = d->query_id;
	mig_encode_answer(payload, &a);
	if (mig_writer_put(&d->writer, MIG_ANSWER, payload, sizeof(payload)))
		return FERR_BUSY;
	d->state = MIG_DST_ANSWERED;
	return 0;
}

int mig_dst_abort(struct mig_dst *d, unsigned reason, const char *text)
{
	/*
	 * After RESUMED the guest runs here: no going back. Between GO and RESUMED the
	 * engine may still abort when the guest could not be started (it never ran).
	 */
	if (d->state == MIG_DST_FINISHED || d->state == MIG_DST_ANSWERED)
		return FERR_BUSY;
	if (d->state != MIG_DST_CLOSED)
		put_reason(d, MIG_ABORT, reason, text);
	fmt_snprintf(d->error, sizeof(d->error), "%s", text ? text : "aborted");
	d->state = MIG_DST_CLOSED;
	return 0;
}

size_t mig_dst_pending(const struct mig_dst *d, const uint8_t **data)
{
	return mig_writer_pending(&d->writer, data);
}

void mig_dst_consume(struct mig_dst *d, size_t n)
{
	mig_writer_consume(&d->writer, n);
}
