/* struct mig_guest_ops over kernel/vm/vm.h (migrate_guest.h). */
#include "kernel/migration/guest_ops.h"

#include "kernel/lib/errors.h"
#include "kernel/memory.h"
#include "kernel/vm/vm.h"

#define PAGE_SHIFT 12
#define MIB_SHIFT 20
/*
 * EPT tables and the per-guest structures (VMCS, bitmaps, PML buffer) on top of RAM:
 * one page-table page per 2 MiB of guest RAM, plus a fixed part. Generous on purpose:
 * this is only the early "is there room" answer; vm_create_incoming() is the real test.
 */
#define OVERHEAD_FRAMES_FIXED 64u
#define FRAMES_PER_TABLE_PAGE 512u

static struct vm *as_vm(void *guest)
{
	return guest;
}

static int guest_pause(void *guest)
{
	return vm_pause(as_vm(guest));
}

static int guest_resume(void *guest)
{
	return vm_unpause(as_vm(guest));
}

static uint8_t *guest_ram(void *guest)
{
	return vm_ram(as_vm(guest));
}

static uint64_t guest_ram_bytes(void *guest)
{
	return vm_ram_bytes(as_vm(guest));
}

static const char *guest_name(void *guest)
{
	return vm_name(as_vm(guest));
}

static const uint8_t *guest_mac(void *guest)
{
	return vm_mac(as_vm(guest));
}

static const struct cpu_features *guest_cpu_features(void *guest)
{
	return vm_cpu_features(as_vm(guest));
}

static const char *guest_dirty_mode(void *guest)
{
	return vm_dirty_mode(as_vm(guest));
}

static int guest_dirty_start(void *guest)
{
	return vm_dirty_log_start(as_vm(guest));
}

static long guest_dirty_collect(void *guest, uint64_t *bitmap)
{
	return vm_dirty_collect(as_vm(guest), bitmap);
}

static void guest_dirty_stop(void *guest)
{
	vm_dirty_log_stop(as_vm(guest));
}

static int guest_set_throttle(void *guest, unsigned percent)
{
	return vm_set_throttle(as_vm(guest), percent);
}

static long guest_state_save(void *guest, uint8_t *buf, size_t cap)
{
	return vm_snapshot_save(as_vm(guest), buf, cap);
}

static int guest_state_load(void *guest, const uint8_t *buf, size_t len, const char **why)
{
	return vm_snapshot_load(as_vm(guest), buf, len, why);
}

static void guest_set_migrating(void *guest, bool migrating)
{
	vm_set_migrating(as_vm(guest), migrating);
}

/*
 * Both the source's copy after the switchover and an incoming shell that never ran
 * go the same way; the engine clears the migrating mark first.
 */
static int guest_destroy(void *guest)
{
	return vm_destroy(as_vm(guest));
}

static int guest_create_incoming(void *ctx, const char *name, uint64_t memory_mib,
				 const uint8_t *mac, void **guest, const char **why)
{
	struct vm *vm;
	int err;

	(void)ctx;
	err = vm_create_incoming(name, memory_mib, mac, &vm, why);
	if (!err)
		*guest = vm;
	return err;
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

static void host_cpu_features(void *ctx, struct cpu_features *out)
{
	(void)ctx;
	cpu_features_host(out);
}

const struct mig_guest_ops migrate_vm_ops = {
	.pause = guest_pause,
	.resume = guest_resume,
	.ram = guest_ram,
	.ram_bytes = guest_ram_bytes,
	.name = guest_name,
	.mac = guest_mac,
	.cpu_features = guest_cpu_features,
	.dirty_mode = guest_dirty_mode,
	.dirty_start = guest_dirty_start,
	.dirty_collect = guest_dirty_collect,
	.dirty_stop = guest_dirty_stop,
	.set_throttle = guest_set_throttle,
	.state_save = guest_state_save,
	.state_load = guest_state_load,
	.set_migrating = guest_set_migrating,
	.destroy = guest_destroy,
	.create_incoming = guest_create_incoming,
	.discard = guest_destroy,
	.memory_available = host_memory_available,
	.name_free = host_name_free,
	.host_cpu_features = host_cpu_features,
};
