/*
 * The migration service (service.h): engine slots, the listener, the poller that
 * steps the engines, and the history of finished migrations. It wires each engine
 * to this host: the guest and host ops over kernel/vm/ (guest_ops.h), TLS channels
 * over TCP streams (transport.h), the clock, the log, the NIC for RARP and the CPU's random source
 * (arch/x86/entropy.h).
 */
#include "kernel/migration/service.h"

#include "arch/x86/entropy.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
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

struct slot {
	bool used;
	bool show_progress;
	struct mig_engine *engine;
	uint64_t engine_phys;
	uint32_t peer_ip;
	uint16_t peer_port;
	struct mig_env env;
};

struct past {
	bool used;
	uint32_t peer_ip;
	uint16_t peer_port;
	struct mig_report report;
};

static struct slot slots[MIGRATE_SLOTS];
static struct past history[MIGRATE_HISTORY];
static unsigned history_next;            /* the oldest entry, overwritten next */
static struct frame_owner migration_owner = { .name = "migration" };
static struct tcp_listener *listener;
static bool listen_failed;

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
		.ctx = slot,
	};
}

/* ---- slots and history ----------------------------------------------------------------- */

/* Frames of one engine. */
static uint64_t engine_frames(void)
{
	return (mig_engine_size() + PAGE_SIZE - 1) / PAGE_SIZE;
}

static struct slot *slot_claim(void)
{
	for (unsigned i = 0; i < MIGRATE_SLOTS; i++) {
		struct slot *slot = &slots[i];
		if (slot->used)
			continue;
		if (mem_alloc(&migration_owner, engine_frames(), 1, &slot->engine_phys))
			return NULL;
		slot->engine = phys_to_ptr(slot->engine_phys);
		slot->used = true;
		slot->show_progress = false;
		env_setup(slot);
		return slot;
	}
	return NULL;
}

static void slot_release(struct slot *slot)
{
	mem_free(&migration_owner, slot->engine_phys, engine_frames());
	memset(slot, 0, sizeof(*slot));
}

/* A finished migration: its report goes to the history and its engine is freed. */
static void slot_retire(struct slot *slot)
{
	struct past *p = &history[history_next];

	p->used = true;
	p->peer_ip = slot->peer_ip;
	p->peer_port = slot->peer_port;
	p->report = *mig_engine_report(slot->engine);
	history_next = (history_next + 1) % MIGRATE_HISTORY;
	slot_release(slot);
}

static bool slot_in_doubt(const struct slot *slot)
{
	return mig_engine_report(slot->engine)->outcome == MIG_OUTCOME_IN_DOUBT;
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

/* The engine working on migration `id`, or NULL. */
static struct slot *slot_of_id(uint64_t id)
{
	for (unsigned i = 0; i < MIGRATE_SLOTS; i++)
		if (slots[i].used && mig_engine_report(slots[i].engine)->migration_id == id)
			return &slots[i];
	return NULL;
}

/* The running outgoing migration of guest `name`, or NULL. */
static struct slot *source_slot_of(const char *name)
{
	for (unsigned i = 0; i < MIGRATE_SLOTS; i++) {
		struct slot *slot = &slots[i];
		if (slot->used && mig_engine_report(slot->engine)->role == MIG_ROLE_SOURCE &&
		    strcmp(mig_engine_report(slot->engine)->guest, name) == 0)
			return slot;
	}
	return NULL;
}

/* The inner protocol's key is the channel's, exported from its TLS session (transport.h). */
static void use_channel_key(struct slot *slot, struct tcp_stream *s)
{
	slot->env.key = migrate_transport_inner_key(s);
	slot->env.key_len = MIG_TLS_INNER_KEY_BYTES;
}

/* ---- incoming ---------------------------------------------------------------------------- */

static void on_accept(struct tcp_stream *s, void *ctx)
{
	char peer[NET_ADDR_TEXT_MAX];
	uint32_t ip;
	uint16_t port;

	(void)ctx;
	tcp_stream_peer(s, &ip, &port);
	net_format_ipv4(ip, peer);
	struct slot *slot = slot_claim();
	if (!slot) {
		klog_warn("incoming migration from %s refused: %d migrations running or no memory",
			  peer, MIGRATE_SLOTS);
		tcp_stream_abort(s);
		return;
	}
	slot->peer_ip = ip;
	slot->peer_port = port;
	int err = migrate_transport_attach(s, MIG_ROLE_DEST);
	if (err) {
		klog_warn("incoming migration from %s refused: no room for its TLS channel (%s)", peer,
			  err_name(err));
		slot_release(slot);
		tcp_stream_abort(s);
		return;
	}
	use_channel_key(slot, s);
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

static void service_poll(void)
{
	listener_ensure();
	for (unsigned i = 0; i < MIGRATE_SLOTS; i++) {
		struct slot *slot = &slots[i];
		if (!slot->used)
			continue;
		if (!mig_engine_finished(slot->engine))
			mig_engine_step(slot->engine);
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

	struct slot *slot = slot_claim();
	if (!slot)
		return refuse(why, "too many migrations at once, or no memory for another",
			      FERR_NOMEM);
	err = tcp_stream_connect(ip, port, &s);
	if (err) {
		slot_release(slot);
		return refuse(why, "cannot open a TCP connection (lwIP out of memory)", err);
	}
	err = migrate_transport_attach(s, MIG_ROLE_SOURCE);
	if (err) {
		tcp_stream_abort(s);
		slot_release(slot);
		return refuse(why, "no room for another TLS channel", err);
	}
	use_channel_key(slot, s);
	tcp_stream_set_nodelay(s);
	slot->peer_ip = ip;
	slot->peer_port = port;
	slot->show_progress = show_progress;
	err = mig_source_start(slot->engine, &slot->env, params, vm, s);
	if (err) {
		static char reason[MIG_TEXT_MAX + 1];
		memcpy(reason, mig_engine_report(slot->engine)->reason, sizeof(reason));
		migrate_tcp_ops.abort(s);        /* the channel with its stream */
		slot_release(slot);
		return refuse(why, reason, err);
	}
	*id = mig_engine_report(slot->engine)->migration_id;
	return 0;
}

bool migrate_find(uint64_t id, struct migrate_info *out)
{
	const struct slot *slot = slot_of_id(id);

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

	for (unsigned i = 0; i < MIGRATE_SLOTS; i++)
		if (slots[i].used) {
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

	return slot && !mig_engine_finished(slot->engine);
}

int migrate_cancel(const char *name, const char *why)
{
	struct slot *slot = source_slot_of(name);

	if (!slot || mig_engine_finished(slot->engine))
		return FERR_NOENT;
	return mig_engine_cancel(slot->engine, why);
}

int migrate_resolve(const char *name, bool destination_runs)
{
	struct slot *slot = source_slot_of(name);

	if (!slot || !slot_in_doubt(slot))
		return FERR_NOENT;
	int err = mig_engine_resolve(slot->engine, destination_runs);
	if (!err)
		slot_retire(slot);
	return err;
}

void migrate_show_progress(uint64_t id, bool show)
{
	struct slot *slot = slot_of_id(id);

	if (slot)
		slot->show_progress = show;
}
