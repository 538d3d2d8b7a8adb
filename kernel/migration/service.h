/*
 * The migration service: runs the live-migration engines (kernel/migration/) in the
 * image. It listens for incoming migrations on ferry.cfg's migration_port as soon
 * as the network is up, starts outgoing ones for `migrate`, steps every engine from
 * a background poller, answers sources in doubt, and keeps the reports of the last
 * MIGRATE_HISTORY migrations for `migrations`.
 *
 * What a connection costs, and who can hold what (docs/migration.md "Limits"):
 * - every connection holds one engine (a few KiB, owner "migration") until it ends;
 *   an incoming one that has not proved the key within the handshake deadline
 *   (10 s) is closed; at most MIGRATE_PREAUTH_MAX of those at once, and at most
 *   MIGRATE_PREAUTH_PER_PEER from one address; beyond that a connection is reset
 *   at once;
 * - a migration's working memory (about 340 KiB for a source, 160 KiB for a
 *   destination) is held from an outgoing one's start, or an incoming one's
 *   accepted offer (after AUTH), until it finishes: at most MIGRATE_SLOTS at once,
 *   of which incoming ones may hold MIGRATE_SLOTS - MIGRATE_OUTGOING_RESERVED, so
 *   that a host can always be evacuated; an offer beyond that is refused (busy);
 * - a source left in doubt after GO keeps its engine, and its guest paused, until
 *   the destination's answer to a query or migrate_resolve() settles it.
 */
#ifndef FERRY_MIGRATE_SERVICE_H
#define FERRY_MIGRATE_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/migration/engine.h"

#define MIGRATE_SLOTS 4                 /* migrations holding working memory at once */
#define MIGRATE_OUTGOING_RESERVED 1     /* of those, only for outgoing migrations */
#define MIGRATE_PREAUTH_MAX 8           /* incoming connections before a verified AUTH */
#define MIGRATE_PREAUTH_PER_PEER 2      /* of those, from one peer address */
#define MIGRATE_CONNECTIONS 16          /* engines at once: every connection, both roles */
#define MIGRATE_HISTORY 16

/* One migration as `migrations` shows it; valid until the next poll. */
struct migrate_info {
	uint64_t id;
	enum mig_role role;
	uint32_t peer_ip;                /* host byte order */
	uint16_t peer_port;
	bool running;                    /* an engine holds it (also while in doubt) */
	const char *phase;               /* the engine's phase, "finished" once done */
	const struct mig_report *report;
};

/* Registers the poller; the listener opens once the network is up. */
void migrate_service_init(void);

/*
 * Starts migrating guest NAME to ip:port. Refuses, with nothing changed and *why
 * set, a guest that does not exist or is not running, a host without a key, no
 * network, or no free engine. With show_progress the progress lines go to the
 * console (a command waits on it). *id identifies the migration for
 * migrate_find().
 */
int migrate_start(const char *name, uint32_t ip, uint16_t port, const struct mig_params *params,
		  bool show_progress, uint64_t *id, const char **why);

/* The migration with this id, running or past; false when it is not known (any more). */
bool migrate_find(uint64_t id, struct migrate_info *out);

/*
 * Calls fn for every known migration: running ones first, then the past, newest
 * first. Connections that are not (yet) a migration (no offer, or a query) are not shown.
 */
void migrate_for_each(void (*fn)(const struct migrate_info *m, void *ctx), void *ctx);

/* True while an outgoing migration of guest NAME runs (not finished, not in doubt). */
bool migrate_running(const char *name);

/* Stops the outgoing migration of guest NAME (mig_engine_cancel): FERR_NOENT, FERR_BUSY after GO. */
int migrate_cancel(const char *name, const char *why);

/*
 * The in-doubt migration of guest NAME asks its destination now (mig_engine_query_now):
 * *id is the migration, *asked the count of its queries finished before this one.
 * FERR_NOENT when no migration of NAME is in doubt.
 */
int migrate_ask(const char *name, uint64_t *id, uint32_t *asked);
/*
 * Where migration id stands after migrate_ask: true once it left doubt or a query
 * finished after `asked`; *answer and *why then say what the last query learned.
 */
bool migrate_asked(uint64_t id, uint32_t asked, enum mig_answer *answer, const char **why);

/*
 * Settles the in-doubt migration of guest NAME on the operator's word
 * (mig_engine_resolve): FERR_NOENT when none is, FERR_BUSY when the destination's
 * last answer says the contrary.
 */
int migrate_resolve(const char *name, bool destination_runs);

/* Stops or restarts printing progress lines of migration id (the waiting command's Ctrl-C). */
void migrate_show_progress(uint64_t id, bool show);

#endif
