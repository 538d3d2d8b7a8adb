/*
 * The migration service: runs the live-migration engines (kernel/migration/) in the
 * image. It listens for incoming migrations on ferry.cfg's migration_port as soon
 * as the network is up, starts outgoing ones for `migrate`, steps every engine from
 * a background poller, and keeps the reports of the last MIGRATE_HISTORY
 * migrations for `migrations`.
 *
 * Each running migration holds one engine (about half a MiB of frames, owner
 * "migration") from its start until it finishes; at most MIGRATE_SLOTS run at once,
 * and a connection beyond that is refused at once. A source left in doubt after GO
 * keeps its engine, and its guest paused, until migrate_resolve().
 */
#ifndef FERRY_MIGRATE_SERVICE_H
#define FERRY_MIGRATE_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/migration/engine.h"

#define MIGRATE_SLOTS 4
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

/* Calls fn for every known migration: running ones first, then the past, newest first. */
void migrate_for_each(void (*fn)(const struct migrate_info *m, void *ctx), void *ctx);

/* True while an outgoing migration of guest NAME runs (not finished, not in doubt). */
bool migrate_running(const char *name);

/* Stops the outgoing migration of guest NAME (mig_engine_cancel): FERR_NOENT, FERR_BUSY after GO. */
int migrate_cancel(const char *name, const char *why);

/* Settles the in-doubt migration of guest NAME (mig_engine_resolve): FERR_NOENT when none is. */
int migrate_resolve(const char *name, bool destination_runs);

/* Stops or restarts printing progress lines of migration id (the waiting command's Ctrl-C). */
void migrate_show_progress(uint64_t id, bool show);

#endif
