/*
 * Guests (VMs): lifecycle, scheduling, what the commands show of them, and the
 * services live migration needs.
 *
 * A guest has one vCPU (arch/x86/vcpu.h: VT-x with EPT today), RAM that is one
 * contiguous run of host frames mapped from guest-physical 0, a 16550 UART and
 * the hypercall interface (include/ferry/guest_abi.h). Guests run round-robin on
 * the boot CPU, preempted by the backend's timer, from a background poller.
 *
 * The migration part of this contract (marked [migration]) is what
 * kernel/migration/ builds on; keep it stable.
 */
#ifndef FERRY_VM_H
#define FERRY_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"

#define VM_MAX 8
#define VM_NAME_MAX 31
#define VM_MIN_MEMORY_MIB 16
#define VM_MAX_MEMORY_MIB 1024
/* The longest text a VM-layer *why holds (its composed reasons live in static buffers of at
 * most this size, its literals are shorter): what a migration's refusal text must carry. */
#define VM_WHY_MAX 128

enum vm_state {
	VM_RUNNING,    /* scheduled */
	VM_PAUSED,     /* by `pause` or by a migration's stop-and-copy */
	VM_STOPPED,    /* a fault stopped it; kept for `vminfo` until destroyed */
	VM_INCOMING,   /* a shell receiving a migration: memory reserved, never run yet */
};

struct vm;
struct x86_cpu_state;   /* arch/x86/cpu_state.h */

/* Called once at boot: turns virtualization on when the CPU has what Ferry needs; logs why not otherwise. */
void vm_init(void);
/* True when guests can run on this host. */
bool vm_supported(void);

/*
 * Creates and starts a guest from an ELF image on the ESP ("guests/NAME.elf" or a
 * bare name), or, for the image name "linux", the Linux guest: the ESP's
 * guests/vmlinuz and guests/initramfs.cpio.gz on Ferry's Linux platform (ACPI tables,
 * local APIC, I/O APIC, a 16550 with interrupts; docs/linux-guest.md), with args
 * appended to its kernel command line. memory_mib 0 takes the image's default (32 MiB,
 * 128 for linux). mac may be NULL (one is derived from the name). On failure returns
 * a ferry_err and *why (static text) says what went wrong; nothing is left behind.
 */
int vm_create(const char *name, const char *image, uint64_t memory_mib, const uint8_t *mac,
	      const char *args, struct vm **out, const char **why);
/*
 * 0 when mac may be given to a new guest here (kernel/vm/guest_mac.h: not a group
 * address, not zero, not the host's NIC, not another guest's); FERR_INVAL with
 * *why otherwise. vm_create checks it; so does an incoming migration's offer.
 */
int vm_mac_check(const uint8_t mac[6], const char **why);
/* Stops the guest and returns every frame it held. */
int vm_destroy(struct vm *vm);
struct vm *vm_find(const char *name);
int vm_pause(struct vm *vm);
int vm_unpause(struct vm *vm);

enum vm_state vm_get_state(const struct vm *vm);
const char *vm_name(const struct vm *vm);
const uint8_t *vm_mac(const struct vm *vm);
uint64_t vm_ram_bytes(const struct vm *vm);

/* What `vminfo` and `list` show of a guest: a copy of its counters (since creation) and placement. */
struct vm_info {
	unsigned id;
	uint64_t ram_phys;
	uint64_t table_frames;           /* the vCPU's EPT/NPT tables */
	uint64_t held_frames;            /* every frame charged to the guest */
	const char *stop_reason;         /* why it stopped ("" unless VM_STOPPED); valid until destroy */
	uint64_t exits;                  /* VM exits of every reason */
	uint64_t uart_bytes;             /* bytes the guest wrote to its UART */
	uint64_t console_dropped_lines;  /* its lines left off Ferry's console by the rate limit */
	uint64_t console_dropped_bytes;
	uint64_t io_other_reads, io_other_writes, io_string;
	uint64_t hypercalls;
	uint64_t hypercalls_refused;     /* made above CPL 0, refused */
	uint64_t slices, slices_throttled;  /* slices run; scheduler turns passed over for a throttle */
	unsigned throttle_percent;       /* in force: the larger of the operator's cap and auto-converge's */
	unsigned cpu_share_percent;      /* of wall time it ran over the last second (throttle.h) */
	bool dirty_logging;
};
void vm_get_info(const struct vm *vm, struct vm_info *out);
/* The vCPU's registers now (for `vminfo`; consistent when the guest is not running). */
void vm_get_cpu_state(const struct vm *vm, struct x86_cpu_state *out);
/* Calls fn for each exit reason the guest has met, by the backend's names, in its order. */
void vm_for_each_exit_count(const struct vm *vm,
			    void (*fn)(const char *reason, uint64_t count, void *ctx), void *ctx);

/*
 * The guest's serial console (its UART), for an interactive `console NAME`:
 * console_read copies the bytes the guest sent since *pos (a count of bytes ever sent;
 * start from vm_console_position, where the unfinished line began, so that the view
 * shows whole lines) into out and moves *pos on; when more than the
 * UART's ring holds was sent meanwhile, the oldest are skipped. console_write puts a
 * typed byte into the guest's receive FIFO: false when it is full (try again later).
 * While attached, the guest's lines are not also printed as `[NAME] line`: a line
 * belongs to the view in which it ends (one cut by a detach is printed whole when it
 * ends).
 */
uint64_t vm_console_position(const struct vm *vm);
size_t vm_console_read(const struct vm *vm, uint64_t *pos, char *out, size_t max);
bool vm_console_write(struct vm *vm, uint8_t byte);
void vm_console_set_attached(struct vm *vm, bool attached);

/* [migration] A shell for an incoming guest: RAM reserved and zeroed, EPT built, state VM_INCOMING. */
int vm_create_incoming(const char *name, uint64_t memory_mib, const uint8_t *mac,
		       struct vm **out, const char **why);
/* [migration] Host pointer to guest RAM (GPA 0); valid until vm_destroy. */
uint8_t *vm_ram(struct vm *vm);
/* [migration] The CPUID features this guest was shown (its mask); fixed at creation. */
const struct cpu_features *vm_cpu_features(const struct vm *vm);

/*
 * [migration] Dirty-page logging. start: clears every dirty record (EPT D bits,
 * PML buffer) and INVEPTs, so that collect reports only later writes. collect:
 * ORs the pages written since the previous start/collect into bitmap (bit i is
 * guest page i; the caller sizes it for vm_ram_bytes), clears them and INVEPTs;
 * returns the number of pages newly found dirty or a ferry_err.
 */
int vm_dirty_log_start(struct vm *vm);
long vm_dirty_collect(struct vm *vm, uint64_t *bitmap);
void vm_dirty_log_stop(struct vm *vm);
const char *vm_dirty_mode(const struct vm *vm);   /* "pml" or "ept-ad" */
/*
 * A bitmap of the guest's pages for the `dirty` command's own log, zeroed,
 * charged to the guest and kept until vm_destroy; NULL when out of memory.
 */
uint64_t *vm_dirty_command_bitmap(struct vm *vm);

/*
 * [migration] Auto-converge: keep the vCPU off the CPU for this share of wall time
 * (0-95; kernel/vm/throttle.h); FERR_RANGE above. The operator's cap (vm_set_throttle_cap,
 * the `throttle` command) stays in force beside it: the larger of the two holds.
 */
int vm_set_throttle(struct vm *vm, unsigned percent);
int vm_set_throttle_cap(struct vm *vm, unsigned percent);

/*
 * [migration] A snapshot: the guest's complete state but its RAM, as a
 * self-describing blob of tagged, length-prefixed, versioned sections
 * (kernel/vm/snapshot.h; bhyve-style: each part saves and loads its own): every guest-state VMCS field, the GPRs, FPU/XSAVE area, the MSRs
 * Ferry passes through or emulates, pending events, the preemption-timer and TSC
 * bookkeeping (guest TSC carried, not host TSC), the CPUID mask, the UART and the
 * hypercall clock. save needs the guest paused; returns the length or FERR_TOOBIG.
 * load needs VM_INCOMING, validates every section and value before touching the
 * guest (FERR_INVAL or FERR_NOTSUP with *why), and leaves the guest VM_PAUSED.
 */
#define VM_SNAPSHOT_MAX_BYTES (16u * 1024)
long vm_snapshot_save(struct vm *vm, uint8_t *buf, size_t cap);
/* [migration] The length vm_snapshot_save would give now; the guest need not be paused. */
long vm_snapshot_size(struct vm *vm);
int vm_snapshot_load(struct vm *vm, const uint8_t *buf, size_t len, const char **why);

/* [migration] Called by the migration engine so `list` can show "migrating" and block destroy/pause. */
void vm_set_migrating(struct vm *vm, bool migrating);
bool vm_is_migrating(const struct vm *vm);
/*
 * [migration] Moves an arriving guest's TSC (and so its hypercall clock) on by ns, the
 * time it stood between the source's save and its load here, so that its clock counts the
 * whole switchover as it counts a pause on one host. A platform (Linux) guest's TSC
 * stands still over any pause (vm_pause), so it is left as it was saved.
 */
void vm_clock_advance(struct vm *vm, uint64_t ns);

/* A Linux guest's network card (create's mac=; kernel/vm/nic.h): the device, NULL when the
 * guest has none, and its virtual switch port (net_vswitch()), < 0 while not attached. */
struct virtio_net;
const struct virtio_net *vm_nic_device(const struct vm *vm);
int vm_nic_port(const struct vm *vm);

#endif
