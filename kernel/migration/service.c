/*
 * The migration service (service.h): connections and their limits, the listener,
 * the poller that steps the engines, the answer to sources in doubt, and the
 * history of finished migrations. It wires each engine to this host: the guest and
 * host ops over kernel/vm/ (guest_ops.h), TLS channels over TCP streams
 * (transport.h), the clock, the log, frames for the engines and their working
 * memory, the NIC for RARP and the CPU's random source (arch/x86/entropy.h).
 */
#include "kernel/migration/service.h"

#include "arch/x86/entropy.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/host.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/migration/guest_ops.h"
#include "kernel/poll.h"
#include "kernel/vm/vm.h"
#include "kernel/migration/tls.h"
#include "kernel/migration/transport.h"
#include "net/net.h"
#include "net/net_addr.h"
#include "net/tcp_stream.h"

#include <string.h>

/* Refused connections are logged at most this often (a flood must not flood the console). */
#define REFUSAL_LOG_INTERVAL_NS NS_PER_S

struct slot {
	bool used;
	bool outgoing;                   /* started by migrate_start */
	bool show_progress;
	struct mig_engine *engine;       /* engine_frames() of its own */
	uint64_t engine_phys;
	uint64_t buffers_phys;           /* the working memory (env->buffers), 0 until given */
	uint64_t buffers_frames;
	uint32_t peer_ip;
	uint16_t peer_port;
	uint8_t inner_key[MIG_TLS_INNER_KEY_BYTES];   /* the current connection's (transport.h) */
	struct mig_env env;
};

struct past {
	bool used;
	uint32_t peer_ip;
	uint16_t peer_port;
	struct mig_report report;
};

static struct slot slots[MIGRATE_CONNECTIONS];
static struct past history[MIGRATE_HISTORY];
static unsigned history_next;            /* the oldest entry, overwritten next */
static struct frame_owner migration_owner = { .name = "migration" };
static struct tcp_listener *listener;
static bool listen_failed;
static uint64_t refusal_logged_ns;
static unsigned refusals_unlogged;

/* ---- what a slot holds ------------------------------------------------------------------- */

static uint64_t frames_of(size_t bytes)
{
	return (bytes + PAGE_SIZE - 1) / PAGE_SIZE;
}

static bool slot_incoming(const struct slot *slot)
{
	return slot->used && !slot->outgoing;
}

/* An incoming connection whose peer has not proved the key yet. */
static bool slot_preauth(const struct slot *slot)
{
	return slot_incoming(slot) && !mig_engine_authenticated(slot->engine) &&
	       !mig_engine_finished(slot->engine);
}

/* A connection `migrations` shows: an outgoing migration, or an incoming one past its OFFER. */
static bool slot_shown(const struct slot *slot)
{
	return slot->used && mig_engine_kind(slot->engine) == MIG_KIND_MIGRATION;
}

static unsigned count_slots(bool (*match)(const struct slot *slot, const void *arg), const void *arg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++)
		n += match(&slots[i], arg);
	return n;
}

static bool is_free(const struct slot *slot, const void *arg)
{
	(void)arg;
	return !slot->used;
}

static bool is_preauth(const struct slot *slot, const void *arg)
{
	(void)arg;
	return slot_preauth(slot);
}

static bool is_preauth_from(const struct slot *slot, const void *arg)
{
	return slot_preauth(slot) && slot->peer_ip == *(const uint32_t *)arg;
}

/* Working memory held: by every migration, or (arg non-NULL) by incoming ones only. */
static bool holds_buffers(const struct slot *slot, const void *incoming_only)
{
	return slot->used && slot->buffers_phys && (!incoming_only || !slot->outgoing);
}

/* ---- the engines' environment --------------------------------------------------------- */

static uint64_t env_now_ns(void *ctx)
{
	(void)ctx;
	return clock_ns();
}

static void env_log(void *ctx, const char *line)
{
	(void)ctx;
	klog_info("%s", line);
}

static void env_progress(void *ctx, const struct mig_progress *p)
{
	const struct slot *slot = ctx;

	if (!slot->show_progress)
		return;
	kprintf("migrate: %s round=%u remaining=%llu rate_kbps=%llu eta_ms=%llu throttle=%u%%\n",
		p->guest, p->round, (unsigned long long)p->remaining_pages,
		(unsigned long long)p->rate_kbps, (unsigned long long)p->eta_ms, p->throttle);
}

static int env_send_raw_frame(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	return net_send_raw_frame(frame, len);
}

static int env_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	return entropy_fill(buf, len);
}

/*
 * A migration's working memory: within MIGRATE_SLOTS, and for an incoming one
 * within what the outgoing reserve leaves.
 */
static void *env_buffers(void *ctx, size_t bytes)
{
	struct slot *slot = ctx;
	uint64_t frames = frames_of(bytes);
	static const bool incoming_only = true;

	if (slot->buffers_phys || count_slots(holds_buffers, NULL) >= MIGRATE_SLOTS)
		return NULL;
	if (!slot->outgoing && count_slots(holds_buffers, &incoming_only) >=
	    MIGRATE_SLOTS - MIGRATE_OUTGOING_RESERVED)
		return NULL;
	if (mem_alloc(&migration_owner, frames, 1, &slot->buffers_phys)) {
		slot->buffers_phys = 0;
		return NULL;
	}
	slot->buffers_frames = frames;
	return phys_to_ptr(slot->buffers_phys);
}

/*
 * A source in doubt asks its destination on a new connection, to where the migration
 * went: a TLS channel of its own, whose key the inner protocol then uses.
 */
static int env_connect(void *ctx, struct tcp_stream **conn)
{
	struct slot *slot = ctx;
	int err = tcp_stream_connect(slot->peer_ip, slot->peer_port, conn);

	if (err)
		return err;
	err = migrate_transport_attach(*conn, MIG_ROLE_SOURCE, slot->inner_key);
	if (err) {
		tcp_stream_abort(*conn);
		*conn = NULL;
		return err;
	}
	tcp_stream_set_nodelay(*conn);
	return 0;
}

static unsigned env_answer_query(void *ctx, uint64_t id);

static void env_setup(struct slot *slot)
{
	slot->env = (struct mig_env){
		.guest_ops = &migrate_vm_ops,
		.host_ops = &migrate_host_ops,
		.transport_ops = &migrate_tcp_ops,
		.now_ns = env_now_ns,
		.log = env_log,
		.progress = env_progress,
		.send_raw_frame = env_send_raw_frame,
		.random = env_random,
		.buffers = env_buffers,
		.connect = env_connect,
		.answer_query = env_answer_query,
		/* Each connection's TLS channel fills it (transport.h) before the engine reads a byte. */
		.key = slot->inner_key,
		.key_len = MIG_TLS_INNER_KEY_BYTES,
		.ctx = slot,
	};
}

/* ---- slots and history ----------------------------------------------------------------- */

static struct slot *slot_claim(bool outgoing, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++) {
		struct slot *slot = &slots[i];
		if (slot->used)
			continue;
		if (mem_alloc(&migration_owner, frames_of(mig_engine_size()), 1, &slot->engine_phys))
			return NULL;
		slot->engine = phys_to_ptr(slot->engine_phys);
		slot->used = true;
		slot->outgoing = outgoing;
		slot->show_progress = false;
		slot->buffers_phys = slot->buffers_frames = 0;
		slot->peer_ip = ip;
		slot->peer_port = port;
		env_setup(slot);
		return slot;
	}
	return NULL;
}

static void slot_release(struct slot *slot)
{
	if (slot->buffers_phys)
		mem_free(&migration_owner, slot->buffers_phys, slot->buffers_frames);
	mem_free(&migration_owner, slot->engine_phys, frames_of(mig_engine_size()));
	memset(slot, 0, sizeof(*slot));
}

/* A finished connection: a migration's report goes to the history; every engine is freed. */
static void slot_retire(struct slot *slot)
{
	if (slot_shown(slot)) {
		struct past *p = &history[history_next];
		p->used = true;
		p->peer_ip = slot->peer_ip;
		p->peer_port = slot->peer_port;
		p->report = *mig_engine_report(slot->engine);
		history_next = (history_next + 1) % MIGRATE_HISTORY;
	}
	slot_release(slot);
}

/* A source kept for migrate-resolve: in doubt, or its verify=after digest found a mismatch. */
static bool slot_in_doubt(const struct slot *slot)
{
	const struct mig_report *r = mig_engine_report(slot->engine);

	return r->role == MIG_ROLE_SOURCE &&
	       (r->outcome == MIG_OUTCOME_IN_DOUBT || r->outcome == MIG_OUTCOME_MISMATCH);
}

static void info_from_slot(const struct slot *slot, struct migrate_info *out)
{
	const struct mig_report *r = mig_engine_report(slot->engine);

	out->id = r->migration_id;
	out->role = r->role;
	out->peer_ip = slot->peer_ip;
	out->peer_port = slot->peer_port;
	out->running = true;
	out->phase = mig_phase_name(mig_engine_phase(slot->engine));
	out->report = r;
}

static void info_from_past(const struct past *p, struct migrate_info *out)
{
	out->id = p->report.migration_id;
	out->role = p->report.role;
	out->peer_ip = p->peer_ip;
	out->peer_port = p->peer_port;
	out->running = false;
	out->phase = "finished";
	out->report = &p->report;
}

/* The migration `id` an engine works on (of this role, or any when role is 0), or NULL. */
static struct slot *slot_of_id(uint64_t id, enum mig_role role)
{
	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++) {
		struct slot *slot = &slots[i];
		const struct mig_report *r;
		if (!slot_shown(slot))
			continue;
		r = mig_engine_report(slot->engine);
		if (r->migration_id == id && (!role || r->role == role))
			return slot;
	}
	return NULL;
}

/* The running outgoing migration of guest `name`, or NULL. */
static struct slot *source_slot_of(const char *name)
{
	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++) {
		struct slot *slot = &slots[i];
		if (slot->used && slot->outgoing &&
		    strcmp(mig_engine_report(slot->engine)->guest, name) == 0)
			return slot;
	}
	return NULL;
}

/*
 * A source in doubt asks about migration `id`: what this host, its destination,
 * knows. A migration still running here that has not started the guest is stopped
 * first (mig_engine_settle), so that never-ran stays true.
 */
static unsigned env_answer_query(void *ctx, uint64_t id)
{
	struct slot *slot = slot_of_id(id, MIG_ROLE_DEST);

	(void)ctx;
	if (slot)
		return mig_engine_settle(slot->engine);
	for (unsigned n = 1; n <= MIGRATE_HISTORY; n++) {
		const struct past *p = &history[(history_next + MIGRATE_HISTORY - n) % MIGRATE_HISTORY];
		if (p->used && p->report.role == MIG_ROLE_DEST && p->report.migration_id == id)
			return mig_answer_of_report(&p->report);
	}
	return MIG_ANSWER_UNKNOWN;
}

/* ---- incoming ---------------------------------------------------------------------------- */

/* Why a new connection from `ip` cannot be served now, or NULL. */
static const char *admission_refused(uint32_t ip)
{
	/* The narrower limit first, so the reason names the address when it is the cause. */
	if (count_slots(is_preauth_from, &ip) >= MIGRATE_PREAUTH_PER_PEER)
		return "too many connections from that address that have not proved the key";
	if (count_slots(is_preauth, NULL) >= MIGRATE_PREAUTH_MAX)
		return "too many connections that have not proved the key";
	if (count_slots(is_free, NULL) <= MIGRATE_OUTGOING_RESERVED)
		return "no free engine (the last is kept for outgoing migrations)";
	return NULL;
}

static void log_refusal(const char *peer, const char *why)
{
	uint64_t now = clock_ns();

	if (refusal_logged_ns && now - refusal_logged_ns < REFUSAL_LOG_INTERVAL_NS) {
		refusals_unlogged++;
		return;
	}
	if (refusals_unlogged)
		klog_warn("incoming migration connection from %s refused: %s (and %u more refused)",
			  peer, why, refusals_unlogged);
	else
		klog_warn("incoming migration connection from %s refused: %s", peer, why);
	refusal_logged_ns = now;
	refusals_unlogged = 0;
}

static void on_accept(struct tcp_stream *s, void *ctx)
{
	char peer[NET_ADDR_TEXT_MAX];
	const char *why;
	struct slot *slot = NULL;
	uint32_t ip;
	uint16_t port;

	(void)ctx;
	tcp_stream_peer(s, &ip, &port);
	net_format_ipv4(ip, peer);
	why = admission_refused(ip);
	if (!why) {
		slot = slot_claim(false, ip, port);
		why = slot ? NULL : "no memory for another engine";
	}
	if (why) {
		log_refusal(peer, why);
		tcp_stream_abort(s);
		return;
	}
	int err = migrate_transport_attach(s, MIG_ROLE_DEST, slot->inner_key);
	if (err) {
		log_refusal(peer, "no room for its TLS channel");
		slot_release(slot);
		tcp_stream_abort(s);
		return;
	}
	klog_info("incoming migration connection from %s:%u", peer, (unsigned)port);
	/* The switchover is a few small messages each way; none may wait for a delayed ACK. */
	tcp_stream_set_nodelay(s);
	/* The engine owns the stream from here on, also when it fails at once. */
	mig_dest_start(slot->engine, &slot->env, s);
}

static void listener_ensure(void)
{
	uint16_t port = host_config()->migration_port;
	int err;

	if (listener || listen_failed || !net_up())
		return;
	err = tcp_listener_open(port, on_accept, NULL, &listener);
	if (err) {
		listen_failed = true;
		klog_error("migration listener on port %u: %s; incoming migrations are off",
			   (unsigned)port, err_name(err));
		return;
	}
	klog_info("listening for migrations on port %u%s", (unsigned)port,
		  migrate_transport_can_migrate() ? "" : " (no key: every one is refused)");
}

/* ---- the poller ---------------------------------------------------------------------------- */

/*
 * An engine's turn: steps while each one moves bytes (pages queued into the
 * transport, input read), until the poller's time budget is spent (kernel/poll.h); a
 * running migration reports I/O, so guest slices stay short while it runs, and one
 * whose guest is down holds the other guests off the CPU (kernel/poll.h).
 */
static void engine_turn(struct mig_engine *e, uint64_t deadline)
{
	uint64_t moved;

	poll_report_busy();
	do {
		moved = mig_engine_report(e)->total_bytes;
		if (!mig_engine_step(e))
			return;
	} while (mig_engine_report(e)->total_bytes != moved && clock_ns() < deadline);
	if (mig_engine_guest_down(e))
		poll_hold_guests();
}

static void service_poll(void)
{
	uint64_t deadline = poll_deadline();

	listener_ensure();
	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++) {
		struct slot *slot = &slots[i];
		if (!slot->used)
			continue;
		if (!mig_engine_finished(slot->engine))
			engine_turn(slot->engine, deadline);
		if (mig_engine_finished(slot->engine) && !slot_in_doubt(slot))
			slot_retire(slot);
	}
}

void migrate_service_init(void)
{
	migrate_transport_init();
	mem_owner_register(&migration_owner);
	poll_register("migration", service_poll, POLL_BACKGROUND);
}

/* ---- the commands' side ------------------------------------------------------------------- */

static int refuse(const char **why, const char *text, int err)
{
	*why = text;
	return err;
}

int migrate_start(const char *name, uint32_t ip, uint16_t port, const struct mig_params *params,
		  bool show_progress, uint64_t *id, const char **why)
{
	struct vm *vm = vm_find(name);
	struct tcp_stream *s;
	int err;

	if (!vm)
		return refuse(why, "no guest of that name", FERR_NOENT);
	if (vm_is_migrating(vm))
		return refuse(why, "it is migrating already", FERR_BUSY);
	switch (vm_get_state(vm)) {
	case VM_RUNNING:
		break;
	case VM_PAUSED:
		return refuse(why, "it is paused (unpause it first)", FERR_BUSY);
	case VM_STOPPED:
		return refuse(why, "a fault stopped it (see vminfo)", FERR_BUSY);
	case VM_INCOMING:
		return refuse(why, "it is an incoming migration's shell", FERR_BUSY);
	}
	if (!migrate_transport_can_migrate())
		return refuse(why, "no migration_key in ferry.cfg", FERR_AUTH);
	if (!net_has_nic() || !net_up())
		return refuse(why, "the network is down (see net)", FERR_IO);
	if (ip == net_address())
		return refuse(why, "that is this host's own address", FERR_INVAL);

	struct slot *slot = slot_claim(true, ip, port);
	if (!slot)
		return refuse(why, "too many migrations at once, or no memory for another",
			      FERR_NOMEM);
	err = tcp_stream_connect(ip, port, &s);
	if (err) {
		slot_release(slot);
		return refuse(why, "cannot open a TCP connection (lwIP out of memory)", err);
	}
	err = migrate_transport_attach(s, MIG_ROLE_SOURCE, slot->inner_key);
	if (err) {
		tcp_stream_abort(s);
		slot_release(slot);
		return refuse(why, "no room for another TLS channel", err);
	}
	tcp_stream_set_nodelay(s);
	slot->show_progress = show_progress;
	err = mig_source_start(slot->engine, &slot->env, params, vm, s);
	if (err) {
		static char reason[MIG_REPORT_REASON_MAX + 1];
		memcpy(reason, mig_engine_report(slot->engine)->reason, sizeof(reason));
		if (err == FERR_NOMEM)
			fmt_snprintf(reason, sizeof(reason),
				     "too many migrations at once, or no memory for another");
		migrate_tcp_ops.abort(s);        /* the channel with its stream */
		slot_release(slot);
		return refuse(why, reason, err);
	}
	*id = mig_engine_report(slot->engine)->migration_id;
	return 0;
}

bool migrate_find(uint64_t id, struct migrate_info *out)
{
	const struct slot *slot = slot_of_id(id, 0);

	if (slot) {
		info_from_slot(slot, out);
		return true;
	}
	for (unsigned i = 0; i < MIGRATE_HISTORY; i++)
		if (history[i].used && history[i].report.migration_id == id) {
			info_from_past(&history[i], out);
			return true;
		}
	return false;
}

void migrate_for_each(void (*fn)(const struct migrate_info *m, void *ctx), void *ctx)
{
	struct migrate_info info;

	for (unsigned i = 0; i < MIGRATE_CONNECTIONS; i++)
		if (slot_shown(&slots[i])) {
			info_from_slot(&slots[i], &info);
			fn(&info, ctx);
		}
	for (unsigned n = 1; n <= MIGRATE_HISTORY; n++) {
		const struct past *p = &history[(history_next + MIGRATE_HISTORY - n) % MIGRATE_HISTORY];
		if (p->used) {
			info_from_past(p, &info);
			fn(&info, ctx);
		}
	}
}

bool migrate_running(const char *name)
{
	struct slot *slot = source_slot_of(name);

	return slot && !mig_engine_finished(slot->engine) && !slot_in_doubt(slot);
}

int migrate_cancel(const char *name, const char *why)
{
	struct slot *slot = source_slot_of(name);

	if (!slot || mig_engine_finished(slot->engine))
		return FERR_NOENT;
	return mig_engine_cancel(slot->engine, why);
}

int migrate_ask(const char *name, uint64_t *id, uint32_t *asked)
{
	struct slot *slot = source_slot_of(name);
	long queries;

	if (!slot || !slot_in_doubt(slot))
		return FERR_NOENT;
	queries = mig_engine_query_now(slot->engine);
	if (queries < 0)
		return FERR_NOENT;
	*id = mig_engine_report(slot->engine)->migration_id;
	*asked = (uint32_t)queries;
	return 0;
}

bool migrate_asked(uint64_t id, uint32_t asked, enum mig_answer *answer, const char **why)
{
	struct slot *slot = slot_of_id(id, MIG_ROLE_SOURCE);

	*answer = MIG_ANSWER_NONE;
	*why = "";
	if (!slot || !slot_in_doubt(slot))
		return true;
	return mig_engine_doubt(slot->engine, answer, why) > asked;
}

int migrate_resolve(const char *name, bool destination_runs)
{
	struct slot *slot = source_slot_of(name);

	if (!slot || !slot_in_doubt(slot))
		return FERR_NOENT;
	return mig_engine_resolve(slot->engine, destination_runs);
}

void migrate_show_progress(uint64_t id, bool show)
{
	struct slot *slot = slot_of_id(id, 0);

	if (slot)
		slot->show_progress = show;
}
