/*
 * The migration engine's view of guests (struct mig_guest_ops) and of this host as a
 * destination (struct mig_host_ops), implemented over kernel/vm/vm.h. The host ops
 * ignore their ctx: there is one VM manager. Image only.
 */
#ifndef FERRY_MIGRATION_GUEST_OPS_H
#define FERRY_MIGRATION_GUEST_OPS_H

#include "kernel/migration/engine.h"

extern const struct mig_guest_ops migrate_vm_ops;
extern const struct mig_host_ops migrate_host_ops;

#endif
