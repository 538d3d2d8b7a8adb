/*
 * The migration engine's view of guests (struct mig_guest_ops) implemented over
 * kernel/vm/vm.h. `guest` is a struct vm *; the destination ops ignore their ctx.
 */
#ifndef FERRY_MIGRATE_GUEST_H
#define FERRY_MIGRATE_GUEST_H

#include "kernel/migration/engine.h"

extern const struct mig_guest_ops migrate_vm_ops;

#endif
