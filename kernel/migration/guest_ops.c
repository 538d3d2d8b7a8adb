/*
 * struct mig_guest_ops and struct mig_host_ops over kernel/vm/vm.h (guest_ops.h):
 * the guest ops are the VM manager's own functions; the host ops answer the
 * destination's questions (room, name, CPU) for this host.
 */
#include "kernel/migration/guest_ops.h"

#include "arch/x86/vcpu.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"
#include "kernel/memory.h"
#include "kernel/vm/vm.h"

/*
 * EPT tables and the per-guest structures (VMCS, bitmaps, PML buffer) on top of RAM:
 * one page-table page per 2 MiB of guest RAM, plus a fixed part. Generous on purpose:
 * this is only the early "is there room" answer; vm_create_incoming() is the real test.
 */
#define OVERHEAD_FRAMES_FIXED 64u
#define FRAMES_PER_TABLE_PAGE 512u

/* A guest runs on its host's CPU, so it has seen this host's vendor. */
static uint32_t guest_cpu_vendor(const struct vm *vm)
{
	(void)vm;
	return vcpu_hw_vendor();
}

/*
 * The source's copy goes with vm_destroy() after the switchover (the engine clears
 * the migrating mark first); an incoming shell goes through migrate_host_ops'
 * discard_incoming, which names it by name and id.
 */
const struct mig_guest_ops migrate_vm_ops = {
	.pause = vm_pause,
	.resume = vm_unpause,
	.ram = vm_ram,
	.ram_bytes = vm_ram_bytes,
	.name = vm_name,
	.mac = vm_mac,
	.cpu_features = vm_cpu_features,
	.dirty_mode = vm_dirty_mode,
	.cpu_vendor = guest_cpu_vendor,
	.dirty_start = vm_dirty_log_start,
	.dirty_collect = vm_dirty_collect,
	.dirty_stop = vm_dirty_log_stop,
	.set_throttle = vm_set_throttle,
	.state_save = vm_snapshot_save,
	.state_size = vm_snapshot_size,
	.state_load = vm_snapshot_load,
	.set_migrating = vm_set_migrating,
	.clock_advance = vm_clock_advance,
	.destroy = vm_destroy,
};

static int host_create_incoming(void *ctx, const char *name, uint64_t memory_mib,
				const uint8_t *mac, struct vm **vm, uint64_t *id, const char **why)
{
	struct vm_info info;
	int err;

	(void)ctx;
	/* The offer's MAC follows the rule `create` does: it will be announced on this segment. */
	err = vm_mac_check(mac, why);
	if (err)
		return err;
	err = vm_create_incoming(name, memory_mib, mac, vm, why);
	if (err)
		return err;
	vm_get_info(*vm, &info);
	*id = info.id;
	return 0;
}

/*
 * Only the shell this migration made, and only if it never ran: looked up by name
 * (a pointer could name a guest created later in the same slot), checked by its id
 * (unique since boot) and by its state and slice count (a shell is VM_INCOMING, or
 * VM_PAUSED once its state loaded, and was never scheduled).
 */
static int host_discard_incoming(void *ctx, const char *name, uint64_t id)
{
	struct vm *vm = vm_find(name);
	struct vm_info info;
	enum vm_state state;

	(void)ctx;
	if (!vm)
		return FERR_NOENT;
	vm_get_info(vm, &info);
	if (info.id != id)
		return FERR_NOENT;
	state = vm_get_state(vm);
	if (info.slices != 0 || (state != VM_INCOMING && state != VM_PAUSED))
		return FERR_BUSY;
	vm_set_migrating(vm, false);
	return vm_destroy(vm);
}

static bool host_memory_available(void *ctx, uint64_t memory_mib)
{
	struct mem_stats stats;
	uint64_t ram_frames = memory_mib << (MIB_SHIFT - PAGE_SHIFT);

	(void)ctx;
	mem_get_stats(&stats);
	return stats.free_frames >=
	       ram_frames + ram_frames / FRAMES_PER_TABLE_PAGE + OVERHEAD_FRAMES_FIXED;
}

static bool host_name_free(void *ctx, const char *name)
{
	(void)ctx;
	return vm_find(name) == NULL;
}

static uint32_t host_cpu_vendor(void *ctx)
{
	(void)ctx;
	return vcpu_hw_vendor();
}

static void host_cpu_features(void *ctx, struct cpu_features *out)
{
	(void)ctx;
	cpu_features_host(out);
}

const struct mig_host_ops migrate_host_ops = {
	.create_incoming = host_create_incoming,
	.discard_incoming = host_discard_incoming,
	.memory_available = host_memory_available,
	.name_free = host_name_free,
	.cpu_features = host_cpu_features,
	.cpu_vendor = host_cpu_vendor,
};
