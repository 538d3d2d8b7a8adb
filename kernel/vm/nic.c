/*
 * A Linux guest's virtio-net card on the virtual switch; see nic.h. The device itself is
 * kernel/vdev/virtio_net.c; the switch port net/net.c's (net_port_attach).
 */
#include "kernel/vm/nic.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/vdev/platform.h"
#include "kernel/vm/vm_internal.h"
#include "net/net.h"

#include <string.h>

#define NIC_DETACHED (-1)

struct vm_nic {
	struct virtio_net dev;
	int port;                 /* the switch port, NIC_DETACHED until attached */
	uint64_t *dirty;          /* the device-dirty bitmap: one bit a guest page */
	uint64_t dirty_phys;
	uint64_t phys, frames;    /* this structure's own frames */
};

/* ---- the device's callbacks ------------------------------------------------------------ */

/* A transmitted frame goes to the switch; FERR_BUSY (the NIC's ring is full) leaves its
 * chain in the ring until vm_nic_poll() offers it again. */
static int nic_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct vm *vm = ctx;

	if (vm->nic->port == NIC_DETACHED)
		return FERR_OK;
	return net_port_send(vm->nic->port, frame, len);
}

/* The interrupt line: the device's I/O APIC pin (edge, as the DSDT declares it). */
static void nic_line(void *ctx, bool high)
{
	struct vm *vm = ctx;

	vdev_ioapic_set_irq(&vm->platform.ioapic, PLATFORM_VIRTIO_FIRST_GSI, high);
}

/* A frame from the switch for this guest. */
static void nic_deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct vm *vm = ctx;

	virtio_net_receive(&vm->nic->dev, frame, len);
}

/* Every device write into guest RAM: its pages are dirty while a migration logs them. */
static void nic_dirty(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vm *vm = ctx;

	if (!vm->dirty_logging || !len)
		return;
	for (uint64_t page = gpa / FRAME_SIZE; page <= (gpa + len - 1) / FRAME_SIZE; page++)
		bitmap_set(vm->nic->dirty, page);
}

static int window_read(void *dev, uint32_t offset, unsigned size, uint64_t *value, const char **why)
{
	struct vm *vm = dev;
	int err = virtio_net_mmio_read(&vm->nic->dev, offset, size, value);

	if (err)
		*why = "beyond the virtio window";
	return err;
}

static int window_write(void *dev, uint32_t offset, unsigned size, uint64_t value, const char **why)
{
	struct vm *vm = dev;
	int err = virtio_net_mmio_write(&vm->nic->dev, offset, size, value);

	if (err)
		*why = "beyond the virtio window";
	return err;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void init_device(struct vm *vm)
{
	struct virtq_ram ram = { vm_ram(vm), vm->ram_bytes, nic_dirty, vm };

	virtio_net_init(&vm->nic->dev, vm->mac, &ram, nic_send, vm, nic_line, vm);
}

static int attach(struct vm *vm, const char **why)
{
	const struct vswitch *sw = net_vswitch();
	const char *refusal = sw ? vswitch_mac_refusal(sw, vm->mac) : "this host has no network";

	if (refusal) {
		*why = refusal;
		return FERR_INVAL;
	}
	int port = net_port_attach(vm->mac, nic_deliver, vm);
	if (port < 0) {
		*why = "no free port on the virtual switch";
		return port;
	}
	vm->nic->port = port;
	return FERR_OK;
}

int vm_nic_create(struct vm *vm, bool attach_now, const char **why)
{
	uint64_t frames = (sizeof(struct vm_nic) + FRAME_SIZE - 1) / FRAME_SIZE;
	uint64_t phys, dirty_phys;

	/* The MAC itself passed vm_mac_check() in vm_create(); a device that attaches later
	 * (an arriving guest, a snapshot's copy) is checked then. */
	if (attach_now && !net_vswitch()) {
		*why = "mac=: this host has no network";
		return FERR_INVAL;
	}
	if (mem_alloc(&vm->owner, frames, 1, &phys)) {
		*why = "not enough free memory for the guest's network card";
		return FERR_NOMEM;
	}
	if (mem_alloc(&vm->owner, vm->dirty_bitmap_frames, 1, &dirty_phys)) {
		mem_free(&vm->owner, phys, frames);
		*why = "not enough free memory for the guest's network card";
		return FERR_NOMEM;
	}
	vm->nic = phys_to_ptr(phys);
	memset(vm->nic, 0, sizeof(*vm->nic));
	vm->nic->phys = phys;
	vm->nic->frames = frames;
	vm->nic->port = NIC_DETACHED;
	vm->nic->dirty_phys = dirty_phys;
	vm->nic->dirty = phys_to_ptr(dirty_phys);
	memset(vm->nic->dirty, 0, vm->dirty_bitmap_frames * FRAME_SIZE);
	init_device(vm);
	if (attach_now) {
		int err = attach(vm, why);
		if (err) {
			vm_nic_destroy(vm);
			return err;
		}
	}
	return FERR_OK;
}

void vm_nic_destroy(struct vm *vm)
{
	struct vm_nic *nic = vm->nic;

	if (!nic)
		return;
	if (nic->port != NIC_DETACHED)
		net_port_detach(nic->port);   /* before the frames the switch calls into go */
	vm->nic = NULL;
	mem_free(&vm->owner, nic->dirty_phys, vm->dirty_bitmap_frames);
	mem_free(&vm->owner, nic->phys, nic->frames);
}

int vm_nic_add_window(struct vm *vm)
{
	const struct vm_mmio_window w = {
		PLATFORM_VIRTIO_MMIO_BASE, PLATFORM_VIRTIO_MMIO_SIZE, window_read, window_write, vm,
	};

	return vm->nic ? vm_platform_add_window(vm, &w) : FERR_OK;
}

void vm_nic_reset(struct vm *vm)
{
	if (!vm->nic)
		return;
	struct virtio_net_counters counters = vm->nic->dev.counters;
	bool paused = vm->nic->dev.paused;

	init_device(vm);
	vm->nic->dev.counters = counters;
	if (paused)
		virtio_net_quiesce(&vm->nic->dev);
}

void vm_nic_poll(struct vm *vm)
{
	if (vm->nic)
		virtio_net_poll(&vm->nic->dev);
}

/* ---- migration -------------------------------------------------------------------------- */

void vm_nic_pause(struct vm *vm)
{
	if (vm->nic)
		virtio_net_quiesce(&vm->nic->dev);
}

int vm_nic_resume(struct vm *vm, const char **why)
{
	if (!vm->nic)
		return FERR_OK;
	bool attached_now = false;
	if (vm->nic->port == NIC_DETACHED) {
		int err = attach(vm, why);
		if (err)
			return err;
		attached_now = true;
	}
	virtio_net_resume(&vm->nic->dev);
	if (attached_now && virtio_net_announce(&vm->nic->dev))
		klog_info("guest %s: asked to announce itself on its network", vm->name);
	return FERR_OK;
}

uint64_t vm_nic_dirty_take(struct vm *vm, uint64_t *bitmap)
{
	if (!vm->nic)
		return 0;
	uint64_t words = bitmap_words(vm->ram_bytes / FRAME_SIZE);
	uint64_t newly = bitmap_or_count_new(bitmap, vm->nic->dirty, words);

	memset(vm->nic->dirty, 0, words * sizeof(uint64_t));
	return newly;
}

void vm_nic_dirty_clear(struct vm *vm)
{
	if (vm->nic)
		memset(vm->nic->dirty, 0, vm->dirty_bitmap_frames * FRAME_SIZE);
}

int vm_nic_save(const struct vm *vm, struct virtio_net_state *out)
{
	return vm->nic ? virtio_net_save(&vm->nic->dev, out) : FERR_NOENT;
}

int vm_nic_load(struct vm *vm, const struct virtio_net_state *s, const char **why)
{
	return virtio_net_load(&vm->nic->dev, s, why);
}

/* ---- for vminfo ------------------------------------------------------------------------ */

const struct virtio_net *vm_nic_device(const struct vm *vm)
{
	return vm->nic ? &vm->nic->dev : NULL;
}

int vm_nic_port(const struct vm *vm)
{
	return vm->nic ? vm->nic->port : NIC_DETACHED;
}
