/*
 * A Linux guest's network card: the virtio-net device (kernel/vdev/virtio_net.h) behind
 * virtio-mmio window 0 (PLATFORM_VIRTIO_MMIO_BASE, I/O APIC pin PLATFORM_VIRTIO_FIRST_GSI)
 * on a port of Ferry's virtual switch (net/net.h) pinned to the guest's MAC
 * (docs/virtio-net.md, "Wiring").
 *
 * What it guarantees to the VM layer:
 *   - vm_nic_create() refuses a MAC the switch would refuse (with the switch's reason)
 *     before anything is allocated; the device and its device-dirty bitmap are frames
 *     charged to the guest; vm_nic_destroy() detaches the port before freeing them.
 *   - every byte the device writes into guest RAM (received frames, used rings) marks its
 *     page in the device-dirty bitmap while dirty logging is on; vm_nic_dirty_take() ORs
 *     that into a collect's result and clears it (neither EPT dirty bits nor PML see
 *     Ferry's own writes).
 *   - vm_nic_pause() quiesces the device (no frame taken either way, every transmit chain
 *     completed, so no descriptor is in flight) before the migration's last dirty
 *     collection; vm_nic_resume() attaches the port when it is not (the destination at GO,
 *     a snapshot's copy), resumes the device and, after an attach, asks the guest to
 *     announce itself (VIRTIO_NET_F_GUEST_ANNOUNCE). An attach the switch refuses fails
 *     the resume with the reason, and the guest stays paused.
 *   - the saved state is the device's own versioned section; vm_nic_load() validates it
 *     against guest RAM (virtio_net_check_state) before it changes anything.
 * Internal to kernel/vm/; image only.
 */
#ifndef FERRY_VM_NIC_H
#define FERRY_VM_NIC_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/vdev/virtio_net.h"

struct vm;

/* The device for vm->mac, its port attached when `attach` (else at vm_nic_resume). */
int vm_nic_create(struct vm *vm, bool attach, const char **why);
void vm_nic_destroy(struct vm *vm);
/* The device's MMIO window in the guest's platform (after each vm_platform_init). */
int vm_nic_add_window(struct vm *vm);
/* The guest was reset: the device at its power-on state (counters and port kept). */
void vm_nic_reset(struct vm *vm);

/* Goes on with a transmit the NIC's full ring stalled or a pass's budget stopped (each
 * scheduling round): one more pass of at most VIRTIO_NET_TX_BUDGET frames. */
void vm_nic_poll(struct vm *vm);

void vm_nic_pause(struct vm *vm);
int vm_nic_resume(struct vm *vm, const char **why);

/* Ors the pages the device wrote since the last take into bitmap and clears its own;
 * returns how many were not set in bitmap yet. */
uint64_t vm_nic_dirty_take(struct vm *vm, uint64_t *bitmap);
void vm_nic_dirty_clear(struct vm *vm);

int vm_nic_save(const struct vm *vm, struct virtio_net_state *out);
int vm_nic_load(struct vm *vm, const struct virtio_net_state *s, const char **why);

/* vm_nic_device() and vm_nic_port(), for `vminfo`, are in kernel/vm/vm.h. */

#endif
