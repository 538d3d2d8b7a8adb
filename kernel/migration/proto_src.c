/*
 * The source side of the migration protocol (proto.h).
 */
#include "kernel/migration/proto.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"

static int src_fail(struct mig_src *s, int err, const char *why)
{
	fmt_snprintf(s->error, sizeof(s->error), "%s", why);
	s->state = MIG_SRC_CLOSED;
	return err;
}

int mig_src_init(struct mig_src *s, const uint8_t *psk, size_t psk_len,
		 const uint8_t nonce[MIG_NONCE_BYTES])
{
	struct mig_hello hello = { .magic = MIG_HELLO_MAGIC, .version = MIG_PROTO_VERSION,
				   .role = MIG_ROLE_SOURCE };
	uint8_t payload[MIG_HELLO_BYTES];

	memset(&s->session, 0, sizeof(s->session));
	s->psk = psk;
	s->psk_len = psk_len;
	memcpy(s->nonce, nonce, MIG_NONCE_BYTES);
	s->page_limit = 0;
	s->batch = NULL;
	s->batch_len = 0;
	s->batch_pages = 0;
	s->batch_pages_max = MIG_BATCH_MAX_PAGES;
	s->round_pages = s->round_bytes = s->pages_total = 0;
	s->round = 0;
	s->final_round_ended = s->state_sent = false;
	s->verify = MIG_VERIFY_OFF;
	s->verdict_received = false;
	s->state_bytes = 0;
	s->query_id = 0;
	s->error[0] = '\0';
	mig_stream_sum_init(&s->checksum);
	mig_reader_init(&s->reader, s->in, sizeof(s->in));
	mig_writer_init(&s->writer, s->out, sizeof(s->out));
	if (psk_len == 0)
		return src_fail(s, FERR_AUTH, "no migration_key configured on this host");
	s->state = MIG_SRC_WAIT_HELLO;
	memcpy(hello.nonce, nonce, MIG_NONCE_BYTES);
	mig_encode_hello(payload, &hello);
	return mig_writer_put(&s->writer, MIG_HELLO, payload, sizeof(payload));
}

void mig_src_fini(struct mig_src *s)
{
	mig_session_wipe(&s->session);
	s->state = MIG_SRC_CLOSED;
}

/* The types a destination may send in each state: the reader refuses others from their header. */
static uint32_t src_accepts(const struct mig_src *s)
{
	const uint32_t abort = MIG_TYPE_BIT(MIG_ABORT);

	switch (s->state) {
	case MIG_SRC_WAIT_HELLO:    return abort | MIG_TYPE_BIT(MIG_HELLO);
	case MIG_SRC_WAIT_AUTH:     return abort | MIG_TYPE_BIT(MIG_AUTH);
	case MIG_SRC_WAIT_ACCEPT:   return abort | MIG_TYPE_BIT(MIG_ACCEPT) | MIG_TYPE_BIT(MIG_REFUSE);
	case MIG_SRC_WAIT_ANSWER:   return abort | MIG_TYPE_BIT(MIG_ANSWER);
	case MIG_SRC_WAIT_READY:    return abort | MIG_TYPE_BIT(MIG_READY);
	case MIG_SRC_WAIT_RESUMED:  return abort | MIG_TYPE_BIT(MIG_RESUMED);
	case MIG_SRC_AUTHENTICATED:
	case MIG_SRC_STREAMING:
	case MIG_SRC_READY:         return abort;
	case MIG_SRC_FINISHED:      /* verify=after: the one VERDICT on the sums (no ABORT: it runs there) */
		return s->verify == MIG_VERIFY_AFTER && !s->verdict_received ? MIG_TYPE_BIT(MIG_VERDICT) : 0;
	case MIG_SRC_CLOSED:        return 0;
	}
	return 0;
}

static void reason_event(struct mig_src_event *ev, enum mig_src_event_kind kind,
			 const struct mig_reason_msg *m)
{
	ev->kind = kind;
	ev->reason = m->reason;
	memcpy(ev->text, m->text, sizeof(ev->text));
}

/* A message that arrived in `state`: updates the machine; 1 when *ev was filled. */
static int src_handle(struct mig_src *s, const struct mig_msg *m, struct mig_src_event *ev)
{
	uint8_t response[MIG_AUTH_BYTES];
	unsigned type = m->header.type;

	/* Until GO, an ABORT from the destination ends the migration from any state. */
	if (type == MIG_ABORT && s->state != MIG_SRC_FINISHED) {
		reason_event(ev, MIG_SRC_EV_ABORTED, &m->u.reason);
		s->state = MIG_SRC_CLOSED;
		return 1;
	}
	switch (s->state) {
	case MIG_SRC_WAIT_HELLO:
		if (type != MIG_HELLO)
			break;
		if (m->u.hello.role != MIG_ROLE_DEST)
			return src_fail(s, FERR_PROTO, "peer is not a migration destination");
		if (m->u.hello.version != MIG_PROTO_VERSION)
			return src_fail(s, FERR_NOTSUP, "peer speaks another protocol version");
		if (mig_session_derive(&s->session, MIG_ROLE_SOURCE, s->psk, s->psk_len, s->nonce,
				       m->u.hello.nonce))
			return src_fail(s, FERR_AUTH, "no migration_key configured on this host");
		mig_session_auth_response(&s->session, response);
		mig_writer_put(&s->writer, MIG_AUTH, response, sizeof(response));
		s->state = MIG_SRC_WAIT_AUTH;
		return 0;
	case MIG_SRC_WAIT_AUTH:
		if (type != MIG_AUTH)
			break;
		if (!mig_session_auth_check(&s->session, m->u.auth))
			return src_fail(s, FERR_AUTH, "destination does not hold our migration key");
		s->state = MIG_SRC_AUTHENTICATED;
		ev->kind = MIG_SRC_EV_AUTHENTICATED;
		return 1;
	case MIG_SRC_WAIT_ACCEPT:
		if (type == MIG_ACCEPT) {
			s->state = MIG_SRC_STREAMING;
			ev->kind = MIG_SRC_EV_ACCEPTED;
			return 1;
		}
		if (type == MIG_REFUSE) {
			reason_event(ev, MIG_SRC_EV_REFUSED, &m->u.reason);
			s->state = MIG_SRC_CLOSED;
			return 1;
		}
		break;
	case MIG_SRC_WAIT_READY:
		if (type != MIG_READY)
			break;
		s->state = MIG_SRC_READY;
		ev->kind = MIG_SRC_EV_READY;
		return 1;
	case MIG_SRC_WAIT_RESUMED:
		if (type != MIG_RESUMED)
			break;
		s->state = MIG_SRC_FINISHED;
		ev->kind = MIG_SRC_EV_RESUMED;
		ev->dest_downtime_ns = m->u.resumed.dest_downtime_ns;
		ev->dest_load_ns = m->u.resumed.dest_load_ns;
		return 1;
	case MIG_SRC_FINISHED:
		/* verify=after: the one verdict on the sums we sent. */
		if (type != MIG_VERDICT || s->verify != MIG_VERIFY_AFTER || s->verdict_received)
			break;
		s->verdict_received = true;
		ev->kind = MIG_SRC_EV_VERDICT;
		ev->verdict = m->u.digest;
		return 1;
	case MIG_SRC_WAIT_ANSWER:
		if (type != MIG_ANSWER)
			break;
		if (m->u.answer.migration_id != s->query_id)
			return src_fail(s, FERR_PROTO, "destination answered about another migration");
		s->state = MIG_SRC_FINISHED;
		ev->kind = MIG_SRC_EV_ANSWER;
		ev->answer = m->u.answer.answer;
		return 1;
	default:
		break;
	}
	char why[MIG_TEXT_MAX + 1];
	fmt_snprintf(why, sizeof(why), "unexpected %s from destination", mig_type_name(type));
	return src_fail(s, FERR_PROTO, why);
}

/* Why the reader refused the destination's bytes, for s->error. */
static const char *src_read_error(struct mig_src *s, int rc, char *buf, size_t size)
{
	if (s->reader.unexpected_type) {
		fmt_snprintf(buf, size, "unexpected %s from destination",
			     mig_type_name(s->reader.unexpected_type));
		return buf;
	}
	return rc == FERR_TOOBIG ? "oversized message from destination"
		: "malformed message from destination";
}

int mig_src_input(struct mig_src *s, const uint8_t *data, size_t len, size_t *used,
		  struct mig_src_event *ev)
{
	size_t total = 0;

	*used = 0;
	if (s->state == MIG_SRC_CLOSED)
		return FERR_PROTO;
	if (s->state == MIG_SRC_FINISHED && !src_accepts(s)) {
		*used = len;   /* the answer (or the verdict) is in: nothing after it matters */
		return 0;
	}
	while (total < len) {
		struct mig_msg m;
		size_t n;
		char why[MIG_TEXT_MAX + 1];

		s->reader.accept = src_accepts(s);
		int rc = mig_reader_feed(&s->reader, data + total, len - total, &n, &m);
		total += n;
		*used = total;
		if (rc < 0)
			return src_fail(s, rc, src_read_error(s, rc, why, sizeof(why)));
		if (rc == 0 && n == 0)
			return src_fail(s, FERR_PROTO, "the reader took no bytes (a Ferry bug)");
		if (rc == 1) {
			rc = src_handle(s, &m, ev);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static bool streaming(const struct mig_src *s)
{
	return s->state == MIG_SRC_STREAMING;
}

int mig_src_offer(struct mig_src *s, const struct mig_offer *offer, uint8_t *stream_buf,
		  size_t stream_cap)
{
	uint8_t *p;

	if (s->state != MIG_SRC_AUTHENTICATED || !mig_name_valid(offer->name) || !stream_buf ||
	    stream_cap < MIG_WRITER_CAPACITY)
		return FERR_INVAL;
	if (mig_writer_rebuffer(&s->writer, stream_buf, stream_cap))
		return FERR_BUSY;
	p = mig_writer_begin(&s->writer, MIG_OFFER);
	if (!p)
		return FERR_BUSY;
	mig_writer_end(&s->writer, mig_encode_offer(p, offer));
	s->page_limit = (uint64_t)offer->memory_mib << (MIB_SHIFT - MIG_PAGE_SHIFT);
	s->verify = offer->verify;
	s->state = MIG_SRC_WAIT_ACCEPT;
	return 0;
}

int mig_src_query(struct mig_src *s, uint64_t migration_id)
{
	uint8_t payload[MIG_QUERY_BYTES];

	if (s->state != MIG_SRC_AUTHENTICATED)
		return FERR_INVAL;
	mig_encode_query(payload, migration_id);
	if (mig_writer_put(&s->writer, MIG_QUERY, payload, sizeof(payload)))
		return FERR_BUSY;
	s->query_id = migration_id;
	s->state = MIG_SRC_WAIT_ANSWER;
	return 0;
}

static void close_batch(struct mig_src *s)
{
	if (!s->batch)
		return;
	s->round_bytes += mig_writer_end(&s->writer, s->batch_len);
	s->batch = NULL;
	s->batch_len = 0;
	s->batch_pages = 0;
}

bool mig_src_has_room(const struct mig_src *s)
{
	return streaming(s) && (s->batch || mig_writer_has_room(&s->writer, MIG_PAGES));
}

uint32_t mig_batch_pages_clamp(uint64_t pages)
{
	return pages < 1 ? 1 : pages > MIG_BATCH_MAX_PAGES ? MIG_BATCH_MAX_PAGES : (uint32_t)pages;
}

void mig_src_set_batch_pages(struct mig_src *s, uint64_t pages)
{
	s->batch_pages_max = mig_batch_pages_clamp(pages);
	if (s->batch_pages >= s->batch_pages_max)
		close_batch(s);
}

int mig_src_page(struct mig_src *s, uint32_t page, const uint8_t *data)
{
	if (!streaming(s) || s->final_round_ended || page >= s->page_limit)
		return FERR_INVAL;
	if (!s->batch) {
		s->batch = mig_writer_begin(&s->writer, MIG_PAGES);
		if (!s->batch)
			return FERR_BUSY;
	}
	/* The guest may write the page while we copy it; the copy in the batch is what counts. */
	size_t at = s->batch_len;
	s->batch_len += mig_encode_page(s->batch + at, page, data);
	mig_stream_sum_page(&s->checksum, page, data ? s->batch + at + MIG_PAGE_RECORD_HEADER : NULL);
	s->batch_pages++;
	s->round_pages++;
	s->pages_total++;
	if (s->batch_pages >= s->batch_pages_max)
		close_batch(s);
	return 0;
}

int mig_src_round_end(struct mig_src *s, bool final, struct mig_round_end *out)
{
	struct mig_round_end end;
	uint8_t payload[MIG_ROUND_END_BYTES];

	if (!streaming(s) || s->final_round_ended)
		return FERR_INVAL;
	close_batch(s);
	end = (struct mig_round_end){ .round = s->round, .flags = final ? MIG_ROUND_FINAL : 0,
				      .pages = s->round_pages, .bytes = s->round_bytes };
	mig_encode_round_end(payload, &end);
	if (mig_writer_put(&s->writer, MIG_ROUND_END, payload, sizeof(payload)))
		return FERR_BUSY;
	if (out)
		*out = end;
	s->round++;
	s->round_pages = s->round_bytes = 0;
	s->final_round_ended = final;
	return 0;
}

int mig_src_state(struct mig_src *s, const uint8_t *blob, size_t len)
{
	if (!streaming(s) || !s->final_round_ended || s->state_sent || len == 0 ||
	    len > VM_SNAPSHOT_MAX_BYTES)
		return FERR_INVAL;
	if (mig_writer_put(&s->writer, MIG_STATE, blob, len))
		return FERR_BUSY;
	mig_stream_sum_state(&s->checksum, blob, len);
	s->state_sent = true;
	s->state_bytes = len;
	return 0;
}

int mig_src_digest(struct mig_src *s, uint32_t first, uint32_t group_pages, uint32_t count,
		   const uint32_t *entries)
{
	bool before = s->verify == MIG_VERIFY_BEFORE && streaming(s) && s->state_sent;
	bool after = s->verify == MIG_VERIFY_AFTER && s->state == MIG_SRC_FINISHED &&
		     !s->verdict_received;
	uint8_t *p;

	if (!(before || after) || count == 0 || count > MIG_DIGEST_SUMS_MAX || group_pages == 0)
		return FERR_INVAL;
	p = mig_writer_begin(&s->writer, MIG_DIGEST);
	if (!p)
		return FERR_BUSY;
	mig_writer_end(&s->writer, mig_encode_digest_sums(p, first, group_pages, count, entries));
	return 0;
}

int mig_src_done(struct mig_src *s)
{
	struct mig_done done = { .page_records = s->pages_total, .state_bytes = s->state_bytes };
	uint8_t payload[MIG_DONE_BYTES];

	if (!streaming(s) || !s->state_sent || !mig_writer_has_room(&s->writer, MIG_DONE))
		return !streaming(s) || !s->state_sent ? FERR_INVAL : FERR_BUSY;
	done.checksum = mig_stream_sum_final(&s->checksum);
	mig_encode_done(payload, &done);
	mig_writer_put(&s->writer, MIG_DONE, payload, sizeof(payload));
	s->state = MIG_SRC_WAIT_READY;
	return 0;
}

int mig_src_go(struct mig_src *s, uint64_t since_save_ns)
{
	uint8_t payload[MIG_GO_BYTES];

	if (s->state != MIG_SRC_READY)
		return FERR_INVAL;
	mig_encode_go(payload, since_save_ns);
	if (mig_writer_put(&s->writer, MIG_GO, payload, sizeof(payload)))
		return FERR_BUSY;
	s->state = MIG_SRC_WAIT_RESUMED;
	return 0;
}

int mig_src_abort(struct mig_src *s, unsigned reason, const char *text)
{
	uint8_t payload[MIG_REASON_MAX_BYTES];
	bool may_send = s->state != MIG_SRC_CLOSED && s->state != MIG_SRC_WAIT_RESUMED &&
			s->state != MIG_SRC_FINISHED;

	if (s->state == MIG_SRC_WAIT_RESUMED || s->state == MIG_SRC_FINISHED)
		return FERR_BUSY;   /* after GO the guest is the destination's to run */
	if (s->batch) {
		/* Drop the half-built batch: the destination discards everything anyway. */
		mig_writer_cancel(&s->writer);
		s->batch = NULL;
	}
	/* Nor does ABORT wait behind queued pages: only the message under way is finished. */
	mig_writer_drop_unsent(&s->writer);
	if (may_send) {
		size_t len = mig_encode_reason(payload, reason, text);
		mig_writer_put(&s->writer, MIG_ABORT, payload, len);
	}
	fmt_snprintf(s->error, sizeof(s->error), "%s", text ? text : "aborted");
	s->state = MIG_SRC_CLOSED;
	return 0;
}

size_t mig_src_pending(const struct mig_src *s, const uint8_t **data)
{
	return mig_writer_pending(&s->writer, data);
}

void mig_src_consume(struct mig_src *s, size_t n)
{
	mig_writer_consume(&s->writer, n);
}
