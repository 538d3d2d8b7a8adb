/*
 * The destination role of the migration engine (engine.h): answer the handshake,
 * check the offer against this host (host ops), create the guest's shell, apply the
 * pages as they come, check the stream, load the state, READY; on GO resume the
 * guest, answer RESUMED, then broadcast RARP announcements from its MAC. Drives
 * proto_dest.c with the guest, host and transport ops of the env. Portable.
 *
 * Failure semantics (docs/migration.md):
 * - Until GO, any failure (dst_fail) discards the shell, which never ran, and tells
 *   the source with ABORT when it still can: the source resumes its copy.
 * - On GO, a guest that cannot be started is still a guest that never ran here:
 *   ABORT, and the source resumes it.
 * - Once resumed here (RESUMED queued), the guest is this host's: a lost connection
 *   changes nothing; the announcements go out and the migration completes. A source
 *   that sent GO and never heard RESUMED is left in doubt until its operator settles
 *   it; this side never undoes a resume.
 */
#include "kernel/migration/engine_internal.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/migration/rarp.h"

/* The role's step; mig_engine_step() runs it through e->role_step. */
static void role_dest_step(struct mig_engine *e);

static void dst_discard(struct mig_engine *e)
{
	if (!e->guest)
		return;
	mig_gops(e)->set_migrating(e->guest, false);
	mig_gops(e)->discard(e->guest);
	e->guest = NULL;
	e->dst.ram = NULL;
}

/* Any failure before the guest runs here: ABORT (reason given) and the shell goes. */
static void dst_fail(struct mig_engine *e, int err, unsigned reason, const char *why)
{
	mig_set_reason(e, err, why);
	if (e->conn) {
		if (reason != MIG_REASON_NONE)
			mig_dst_abort(&e->proto.dst, reason, why);
		mig_pump_out(e);
	}
	mig_close_conn(e, true);
	dst_discard(e);
	mig_dst_fini(&e->proto.dst);
	mig_finish(e, MIG_OUTCOME_FAILED);
}

int mig_dest_start(struct mig_engine *e, const struct mig_env *env, struct tcp_stream *conn)
{
	uint8_t nonce[MIG_NONCE_BYTES];
	struct mig_dst_checks checks = {
		.memory_available = env->host_ops->memory_available,
		.name_free = env->host_ops->name_free,
		.ctx = env->ctx,
	};
	int err;

	mig_engine_begin(e, MIG_ROLE_DEST, env);
	e->role_step = role_dest_step;
	memset(&e->dst, 0, sizeof(e->dst));
	e->conn = conn;
	e->dst.last_precopy_ns = e->start_ns;
	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "(incoming)");
	env->host_ops->cpu_features(env->ctx, &checks.host_features);
	checks.host_vendor = env->host_ops->cpu_vendor(env->ctx);
	err = env->random(env->ctx, nonce, sizeof(nonce));
	mig_dst_init(&e->proto.dst, env->key, env->key ? env->key_len : 0, nonce, &checks);
	e->phase = MIG_PHASE_HANDSHAKE;
	e->report.outcome = MIG_OUTCOME_RUNNING;
	if (err) {
		dst_fail(e, err, MIG_REASON_INTERNAL, "no entropy source for the handshake nonce");
		return err;
	}
	if (!env->key || env->key_len == 0)
		mig_say(e, "incoming migration: refused, no migration_key in ferry.cfg");
	return 0;
}

/* ---- what the source sends ------------------------------------------------------------- */

static void dst_offer(struct mig_engine *e)
{
	const struct mig_offer *o = &e->proto.dst.offer;
	const char *why = "cannot create the guest shell";
	struct vm *guest = NULL;
	int err;

	fmt_snprintf(e->report.guest, sizeof(e->report.guest), "%s", o->name);
	e->report.migration_id = o->migration_id;
	e->report.ram_bytes = (uint64_t)o->memory_mib << MIB_SHIFT;
	e->report.dirty_mode = mig_dirty_mode_name(o->dirty_mode);
	e->pages = e->report.ram_bytes >> MIG_PAGE_SHIFT;
	err = e->env.host_ops->create_incoming(e->env.ctx, o->name, o->memory_mib, o->mac, &guest, &why);
	if (err) {
		char text[MIG_TEXT_MAX + 1];
		fmt_snprintf(text, sizeof(text), "%s", why ? why : err_name(err));
		mig_dst_refuse(&e->proto.dst, err == FERR_NOMEM ? MIG_REASON_MEMORY
			       : err == FERR_EXIST ? MIG_REASON_NAME : MIG_REASON_INTERNAL, text);
		dst_fail(e, err, MIG_REASON_NONE, text);
		return;
	}
	e->guest = guest;
	e->dst.ram = mig_gops(e)->ram(guest);
	mig_gops(e)->set_migrating(guest, true);
	mig_dst_accept(&e->proto.dst);
	e->phase = MIG_PHASE_PRECOPY;
	e->round_start_ns = mig_now(e);
	mig_say(e, "incoming migration of %s (%u MiB): accepted", o->name, o->memory_mib);
}

static void dst_page(struct mig_engine *e, uint32_t page_number, const uint8_t *data)
{
	uint8_t *page = e->dst.ram + ((uint64_t)page_number << MIG_PAGE_SHIFT);

	if (data)
		memcpy(page, data, MIG_PAGE_SIZE);
	else
		memset(page, 0, MIG_PAGE_SIZE);
	e->report.pages++;
	e->round_zero += !data;
}

static void dst_round_end(struct mig_engine *e, const struct mig_round_end *r)
{
	mig_report_round(e, r);
	e->round_start_ns = mig_now(e);
	e->round_zero = 0;
	if (r->flags & MIG_ROUND_FINAL)
		e->phase = MIG_PHASE_STOP_COPY;
	else
		e->dst.last_precopy_ns = mig_now(e);
}

static void dst_verified(struct mig_engine *e)
{
	const char *why = "state refused";
	int err = mig_gops(e)->state_load(e->guest, e->state_blob, e->state_len, &why);

	if (err) {
		char text[MIG_TEXT_MAX + 1];
		fmt_snprintf(text, sizeof(text), "guest state refused: %s", why ? why : err_name(err));
		dst_fail(e, err, MIG_REASON_STATE, text);
		return;
	}
	mig_dst_ready(&e->proto.dst);
	e->phase = MIG_PHASE_SWITCHOVER;
}

static void dst_go(struct mig_engine *e)
{
	int err = mig_gops(e)->resume(e->guest);

	if (err) {
		/* It never ran here: ABORT tells the source to resume its paused copy. */
		dst_fail(e, err, MIG_REASON_INTERNAL, "the guest could not be started on the destination");
		return;
	}
	e->dst.resume_ns = mig_now(e);
	e->report.downtime_dst_ns = e->dst.resume_ns - e->dst.last_precopy_ns;
	mig_gops(e)->set_migrating(e->guest, false);
	mig_dst_resumed(&e->proto.dst, e->report.downtime_dst_ns);
	e->destination_running = true;
	e->phase = MIG_PHASE_ANNOUNCE;
	e->dst.announce_next = 0;
	mig_say(e, "incoming migration of %s: running here", e->report.guest);
}

static void dst_event(struct mig_engine *e, const struct mig_dst_event *ev)
{
	char why[MIG_TEXT_MAX + 40];

	switch (ev->kind) {
	case MIG_DST_EV_OFFER:
		dst_offer(e);
		break;
	case MIG_DST_EV_PAGE:
		dst_page(e, ev->page, ev->data);
		break;
	case MIG_DST_EV_ROUND_END:
		dst_round_end(e, &ev->round);
		break;
	case MIG_DST_EV_STATE:
		memcpy(e->state_blob, ev->state, ev->state_len);
		e->state_len = ev->state_len;
		break;
	case MIG_DST_EV_VERIFIED:
		dst_verified(e);
		break;
	case MIG_DST_EV_GO:
		dst_go(e);
		break;
	case MIG_DST_EV_ABORTED:
		fmt_snprintf(why, sizeof(why), "source aborted (%s): %s",
			     mig_reason_name(ev->reason), ev->text);
		dst_fail(e, FERR_PROTO, MIG_REASON_NONE, why);
		break;
	case MIG_DST_EV_REFUSED:
		fmt_snprintf(why, sizeof(why), "refused (%s): %s", mig_reason_name(ev->reason), ev->text);
		dst_fail(e, FERR_BUSY, MIG_REASON_NONE, why);
		break;
	}
}

/* Reads and feeds input to the protocol; 0 or the transport's error. */
static int dst_pump_in(struct mig_engine *e)
{
	const struct mig_transport_ops *t = e->env.transport_ops;
	int reads = 0;

	while (e->phase != MIG_PHASE_FINISHED) {
		struct mig_dst_event ev;
		size_t used;
		int rc;

		if (e->dst.rx_start == e->dst.rx_end) {
			if (reads++ == MIG_READS_PER_STEP)
				return 0;
			long n = mig_read(e);
			if (n < 0)
				return (int)n;
			e->dst.rx_start = 0;
			e->dst.rx_end = (size_t)n;
		}
		rc = mig_dst_input(&e->proto.dst, e->rx + e->dst.rx_start,
				   e->dst.rx_end - e->dst.rx_start, &used, &ev);
		e->dst.rx_start += used;
		if (rc < 0) {
			dst_fail(e, rc, MIG_REASON_NONE, e->proto.dst.error);
			return 0;
		}
		if (rc == 1) {
			dst_event(e, &ev);
			continue;
		}
		if (used == 0 && e->dst.rx_start != e->dst.rx_end)
			return 0;   /* the machine waits for us (never the case after dst_event) */
		if (e->dst.rx_start == e->dst.rx_end && t->readable && t->readable(e->conn) == 0)
			return 0;
	}
	return 0;
}

/* ---- after the resume ------------------------------------------------------------------- */

static void dst_announce(struct mig_engine *e)
{
	uint8_t frame[RARP_FRAME_BYTES];
	const uint8_t *mac = e->proto.dst.offer.mac;

	while (e->dst.announce_next < RARP_ANNOUNCE_COUNT &&
	       mig_now(e) - e->dst.resume_ns >=
		       (uint64_t)rarp_announce_ms[e->dst.announce_next] * NS_PER_MS) {
		if (e->env.send_raw_frame) {
			size_t len = rarp_build_announce(frame, mac);
			e->env.send_raw_frame(e->env.ctx, frame, len);
		}
		e->dst.announce_next++;
	}
	if (e->dst.announce_next == RARP_ANNOUNCE_COUNT && (!e->conn || mig_output_drained(e))) {
		mig_close_conn(e, true);
		mig_dst_fini(&e->proto.dst);
		mig_finish(e, MIG_OUTCOME_COMPLETED);
	}
}

/* ---- the step ---------------------------------------------------------------------------- */

static void role_dest_step(struct mig_engine *e)
{
	int err;

	if (e->phase == MIG_PHASE_ANNOUNCE) {
		/* The guest runs here now: a lost connection changes nothing. */
		if (e->conn && (e->env.transport_ops->error(e->conn) || mig_pump_out(e)))
			mig_close_conn(e, false);
		dst_announce(e);
		return;
	}
	if (e->cancel_requested) {
		dst_fail(e, FERR_BUSY, MIG_REASON_CANCELLED, e->cancel_reason);
		return;
	}
	err = dst_pump_in(e);
	if (e->phase == MIG_PHASE_FINISHED)
		return;
	if (!err)
		err = mig_pump_out(e);
	if (err && e->phase == MIG_PHASE_ANNOUNCE) {
		mig_close_conn(e, false);
		return;
	}
	if (err) {
		dst_fail(e, err, MIG_REASON_NONE, mig_transport_why(e, "connection to the source lost"));
		return;
	}
	if (e->phase != MIG_PHASE_ANNOUNCE && mig_reply_overdue(e, e->last_rx_ns))
		dst_fail(e, FERR_TIMEOUT, MIG_REASON_TIMEOUT, "source stopped sending");
	else if (e->phase == MIG_PHASE_ANNOUNCE)
		dst_announce(e);
}
