/*
 * Migration commands: migrate, migrations, migrate-cancel, migrate-resolve
 * (docs/migration.md "Commands"). The work is done by kernel/migration/service.c;
 * these parse, wait and print.
 */
#include "kernel/shell/cmdline.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/parse.h"
#include "kernel/migration/service.h"
#include "kernel/poll.h"
#include "kernel/shell/shell.h"
#include "net/net_addr.h"

#include <string.h>

#define DOWNTIME_MAX_MS 60000
#define BANDWIDTH_MAX_MBPS 100000
#define WAIT_SLICE_MS 1000
#define CANCEL_WAIT_MS 10000
#define RESOLVE_ASK_MS 20000        /* a query's own deadline is 10 s after it connects */
#define REPORT_BYTES 8192
#define NS_PER_MS 1000000ull
#define BYTES_PER_MB 1000000ull

static char report_text[REPORT_BYTES];

static void print_report(const struct mig_report *r)
{
	mig_report_format(r, report_text, sizeof(report_text));
	console_puts(report_text);
}

/* Done: finished (also in doubt), or no longer known. */
static bool migration_settled(void *ctx)
{
	struct migrate_info info;
	uint64_t id = *(const uint64_t *)ctx;

	return !migrate_find(id, &info) || info.report->outcome != MIG_OUTCOME_RUNNING;
}

static bool settled_or_interrupted(void *ctx)
{
	return migration_settled(ctx) || console_interrupted();
}

static void wait_settled(uint64_t *id)
{
	while (!poll_until(migration_settled, id, WAIT_SLICE_MS))
		;
}

/* The closing lines of `migrate`: the report, then where the guest is. */
static enum shell_status print_outcome(const char *name, const char *host, uint64_t id)
{
	struct migrate_info info;

	if (!migrate_find(id, &info)) {
		shell_error("migration of '%.32s' is no longer known", name);
		return SHELL_FAILED;
	}
	const struct mig_report *r = info.report;
	print_report(r);
	switch (r->outcome) {
	case MIG_OUTCOME_COMPLETED:
		kprintf("migrate: %s completed, running on %s\n", name, host);
		return SHELL_OK;
	case MIG_OUTCOME_IN_DOUBT:
		shell_error("migration of '%.32s' in-doubt: %s", name, r->reason);
		kprintf("guest %s is paused here, in doubt: see migrate-resolve\n", name);
		return SHELL_FAILED;
	case MIG_OUTCOME_MISMATCH:
		shell_error("migration of '%.32s' mismatch: %s", name, r->reason);
		kprintf("guest %s is paused here and on %s: see migrate-resolve\n", name, host);
		return SHELL_FAILED;
	default:
		shell_error("migration of '%.32s' %s: %s", name, mig_outcome_name(r->outcome),
			    r->reason);
		kprintf("guest %s runs here\n", name);
		return SHELL_FAILED;
	}
}

/* verify=before|after|off into *mode; false for anything else. */
static bool parse_verify(const char *text, uint8_t *mode)
{
	for (unsigned m = 0; m < MIG_VERIFY_MODES; m++)
		if (strcmp(text, mig_verify_name(m)) == 0) {
			*mode = (uint8_t)m;
			return true;
		}
	return false;
}

static enum shell_status cmd_migrate(int argc, char **argv)
{
	bool wait = true;
	uint64_t downtime = MIG_DEFAULT_DOWNTIME_MS, bandwidth = 0, id = 0;
	const char *verify = NULL;
	struct mig_params params;
	uint32_t ip;
	uint16_t port;
#ifdef FERRY_FAULT_INJECTION
	const char *fault = NULL;
#endif
	const struct cmdline_option options[] = {
		{ "downtime", CMDLINE_U64, "ms", 1, DOWNTIME_MAX_MS, &downtime, NULL },
		{ "bandwidth", CMDLINE_U64, "MB/s", 1, BANDWIDTH_MAX_MBPS, &bandwidth, NULL },
		{ "wait", CMDLINE_YES_NO, NULL, 0, 0, &wait, NULL },
		{ "verify", CMDLINE_STRING, NULL, 0, 0, &verify, NULL },
#ifdef FERRY_FAULT_INJECTION
		{ "fault", CMDLINE_STRING, NULL, 0, 0, &fault, NULL },
#endif
	};

	enum shell_status st = shell_parse_options(argc, argv, 3, options,
						   sizeof(options) / sizeof(options[0]));
	if (st != SHELL_OK)
		return st;
	mig_params_defaults(&params);
	if (verify && !parse_verify(verify, &params.verify)) {
		shell_error("verify must be before, after or off");
		return SHELL_FAILED;
	}
#ifdef FERRY_FAULT_INJECTION
	if (fault && strcmp(fault, "drop-page") != 0 && strcmp(fault, "corrupt-page") != 0) {
		shell_error("fault must be drop-page or corrupt-page (a fault-injection build)");
		return SHELL_FAILED;
	}
	params.fault = !fault ? MIG_FAULT_NONE
		: strcmp(fault, "drop-page") == 0 ? MIG_FAULT_DROP_PAGE : MIG_FAULT_CORRUPT_PAGE;
#endif
	if (!net_parse_host_port(argv[2], CONFIG_DEFAULT_MIGRATION_PORT, &ip, &port)) {
		shell_error("HOST must be A.B.C.D or A.B.C.D:PORT (port 1-65535)");
		return SHELL_FAILED;
	}

	params.downtime_ms = (uint32_t)downtime;
	params.bandwidth_mbps = (uint32_t)bandwidth;
	const char *why = "unknown";
	int err = migrate_start(argv[1], ip, port, &params, wait, &id, &why);
	if (err) {
		shell_error("cannot migrate '%.32s': %s", argv[1], why);
		return SHELL_FAILED;
	}
	char host[NET_ADDR_TEXT_MAX];
	net_format_ipv4(ip, host);
	kprintf("migrate: %s to %s:%u started id=%016llx\n", argv[1], host, (unsigned)port,
		(unsigned long long)id);
	if (!wait)
		return SHELL_OK;

	console_interrupt_reset();
	while (!poll_until(settled_or_interrupted, &id, WAIT_SLICE_MS))
		;
	if (!migration_settled(&id)) {
		err = migrate_cancel(argv[1], "interrupted at the console (Ctrl-C)");
		if (err == FERR_BUSY)
			kprintf("migrate: too late to cancel, the destination runs %s\n", argv[1]);
		else
			kprintf("migrate: cancelling\n");
	}
	wait_settled(&id);
	migrate_show_progress(id, false);
	return print_outcome(argv[1], host, id);
}

/* ---- migrations ------------------------------------------------------------------------- */

struct list_ctx {
	const char *filter;      /* NULL: the table; a guest name or an id: full reports */
	unsigned shown;
};

static uint64_t downtime_ns(const struct mig_report *r)
{
	return r->role == MIG_ROLE_SOURCE ? r->downtime_src_ns : r->downtime_dst_ns;
}

static void print_row(const struct migrate_info *m, struct list_ctx *lc)
{
	const struct mig_report *r = m->report;
	char addr[NET_ADDR_TEXT_MAX], peer[NET_ADDR_TEXT_MAX + 6];

	net_format_ipv4(m->peer_ip, addr);
	fmt_snprintf(peer, sizeof(peer), "%s:%u", addr, (unsigned)m->peer_port);
	if (lc->shown++ == 0)
		kprintf("%-16s %-11s %-16s %-21s %-10s %-9s %6s %10s %11s %8s\n", "ID", "ROLE",
			"GUEST", "PEER", "PHASE", "OUTCOME", "ROUNDS", "TIME_MS", "DOWNTIME_MS", "MB");
	kprintf("%016llx %-11s %-16s %-21s %-10s %-9s %6u %10llu %11llu %8llu\n",
		(unsigned long long)m->id, r->role == MIG_ROLE_SOURCE ? "source" : "destination",
		r->guest, peer, m->phase, mig_outcome_name(r->outcome), r->rounds,
		(unsigned long long)(r->total_ns / NS_PER_MS),
		(unsigned long long)(downtime_ns(r) / NS_PER_MS),
		(unsigned long long)(r->total_bytes / BYTES_PER_MB));
}

static bool matches(const struct migrate_info *m, const char *filter)
{
	uint64_t id;

	if (strcmp(m->report->guest, filter) == 0)
		return true;
	return parse_hex64(filter, &id) && id == m->id;
}

static void list_one(const struct migrate_info *m, void *ctx)
{
	struct list_ctx *lc = ctx;
	char addr[NET_ADDR_TEXT_MAX];

	if (!lc->filter) {
		print_row(m, lc);
		return;
	}
	if (!matches(m, lc->filter))
		return;
	net_format_ipv4(m->peer_ip, addr);
	if (lc->shown++)
		kprintf("\n");
	kprintf("migration %016llx peer=%s:%u phase=%s\n", (unsigned long long)m->id, addr,
		(unsigned)m->peer_port, m->phase);
	print_report(m->report);
}

static enum shell_status cmd_migrations(int argc, char **argv)
{
	struct list_ctx lc = { argc == 2 ? argv[1] : NULL, 0 };

	if (argc > 2)
		return SHELL_USAGE;
	migrate_for_each(list_one, &lc);
	if (lc.shown == 0) {
		if (lc.filter) {
			shell_error("no migration of a guest or with an id '%.32s'", lc.filter);
			return SHELL_FAILED;
		}
		kprintf("no migrations yet\n");
	}
	return SHELL_OK;
}

/* ---- migrate-cancel, migrate-resolve ---------------------------------------------------- */

static bool no_running_source(void *ctx)
{
	return !migrate_running((const char *)ctx);
}

static enum shell_status cmd_migrate_cancel(int argc, char **argv)
{
	if (argc != 2)
		return SHELL_USAGE;
	int err = migrate_cancel(argv[1], "cancelled by migrate-cancel");
	if (err == FERR_NOENT) {
		shell_error("no running migration of '%.32s'", argv[1]);
		return SHELL_FAILED;
	}
	if (err == FERR_BUSY) {
		shell_error("too late to cancel '%.32s': the destination runs it", argv[1]);
		return SHELL_FAILED;
	}
	if (err) {
		shell_error("cannot cancel '%.32s': %s", argv[1], err_name(err));
		return SHELL_FAILED;
	}
	if (poll_until(no_running_source, argv[1], CANCEL_WAIT_MS))
		kprintf("migrate-cancel: %s cancelled, the guest runs here\n", argv[1]);
	else
		kprintf("migrate-cancel: %s cancelling (see migrations)\n", argv[1]);
	return SHELL_OK;
}

struct ask_ctx {
	uint64_t id;
	uint32_t asked;
	enum mig_answer answer;
	const char *why;
};

static bool asked(void *ctx)
{
	struct ask_ctx *a = ctx;

	return migrate_asked(a->id, a->asked, &a->answer, &a->why);
}

static void print_resolved(const char *name, bool destination_runs, const char *how)
{
	if (destination_runs)
		kprintf("migrate-resolve: %s runs on the destination; the copy here is destroyed (%s)\n",
			name, how);
	else
		kprintf("migrate-resolve: %s resumed here (%s)\n", name, how);
}

/*
 * Asks the destination first (a query by migration id) and follows a definite
 * answer, which settles the migration on its own: the operator's word is taken
 * only when the destination cannot say, and refused when it says the contrary.
 */
static enum shell_status cmd_migrate_resolve(int argc, char **argv)
{
	struct ask_ctx a = { 0 };
	struct migrate_info info;
	bool destination_runs;

	if (argc != 3)
		return SHELL_USAGE;
	if (strcmp(argv[2], "destination") == 0)
		destination_runs = true;
	else if (strcmp(argv[2], "source") == 0)
		destination_runs = false;
	else
		return SHELL_USAGE;
	if (migrate_ask(argv[1], &a.id, &a.asked)) {
		shell_error("no migration of '%.32s' is in doubt", argv[1]);
		return SHELL_FAILED;
	}
	kprintf("migrate-resolve: asking the destination about migration %016llx\n",
		(unsigned long long)a.id);
	poll_until(asked, &a, RESOLVE_ASK_MS);
	if (migrate_find(a.id, &info) && info.report->outcome != MIG_OUTCOME_IN_DOUBT) {
		bool settled_for_destination = info.report->outcome == MIG_OUTCOME_COMPLETED;
		if (settled_for_destination == destination_runs) {
			print_resolved(argv[1], destination_runs, "the destination confirmed it");
			return SHELL_OK;
		}
		shell_error("the destination says it %s '%.32s': refusing '%s'; %s",
			    settled_for_destination ? "runs" : "never ran", argv[1], argv[2],
			    settled_for_destination ? "the copy here is destroyed" : "it is resumed here");
		return SHELL_FAILED;
	}
	int err = migrate_resolve(argv[1], destination_runs);
	if (err == FERR_BUSY) {
		shell_error("the destination answered %s about '%.32s': refusing '%s'",
			    mig_answer_name(a.answer), argv[1], argv[2]);
		return SHELL_FAILED;
	}
	if (err) {
		shell_error("no migration of '%.32s' is in doubt", argv[1]);
		return SHELL_FAILED;
	}
	char how[MIG_TEXT_MAX + 40];
	fmt_snprintf(how, sizeof(how), "on your word; the destination could not say: %s",
		     a.why && a.why[0] ? a.why : "no answer in time");
	print_resolved(argv[1], destination_runs, how);
	return SHELL_OK;
}

const struct shell_command migrate_commands[] = {
	{ "migrate", "NAME HOST[:PORT] [downtime=MS] [bandwidth=MBPS] [verify=before|after|off] [wait=yes|no]",
	  "live-migrate a running guest to a peer Ferry host", cmd_migrate },
	{ "migrations", "[NAME|ID]", "list running and past migrations, or show their reports",
	  cmd_migrations },
	{ "migrate-cancel", "NAME", "stop a running migration; the guest stays here",
	  cmd_migrate_cancel },
	{ "migrate-resolve", "NAME destination|source",
	  "settle an in-doubt migration: where does the guest run?", cmd_migrate_resolve },
	{ NULL, NULL, NULL, NULL },
};
