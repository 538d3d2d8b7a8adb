/*
 * struct vm and what the VM modules share among themselves (kernel/vm/vm.c, the
 * commands in kernel/shell/cmd_vm.c, the exit handlers in arch/x86/vmx/exit.c and the
 * hypercalls in kernel/vm/hypercall.c). Other modules use kernel/vm/vm.h only.
 */
#ifndef FERRY_VM_INTERNAL_H
#define FERRY_VM_INTERNAL_H

#include "arch/x86/vmx/ept.h"
#include "arch/x86/vcpu.h"
#include "arch/x86/vmx/vmcs.h"
#include "kernel/frame_alloc.h"
#include "kernel/vdev/uart.h"
#include "kernel/vm/vm.h"

#define VM_SLICE_NS        10000000ull   /* 10 ms */
#define VM_STOP_REASON_MAX 120
#define VM_OWNER_NAME_MAX  (VM_NAME_MAX + 8)

struct vm {
	bool used;
	unsigned id;
	char name[VM_NAME_MAX + 1];
	char owner_name[VM_OWNER_NAME_MAX];
	struct frame_owner owner;        /* every frame of this guest is charged here */
	enum vm_state state;
	bool migrating;
	unsigned throttle_percent;
	unsigned throttle_credit;
	uint8_t mac[6];

	uint64_t ram_phys, ram_bytes;
	uint64_t ept_phys, ept_frames;
	struct ept ept;
	uint64_t pml_phys;               /* 0 without PML */
	struct vcpu vcpu;

	struct cpu_features cpu;         /* the CPUID mask this guest was given */
	uint64_t tsc_hz;                 /* the TSC rate the guest was told */
	uint64_t clock_ns_base, clock_tsc_base;
	struct vdev_uart uart;

	/* Dirty logging: pages logged by PML before a collect asks (PML-full exits). */
	bool dirty_logging;
	uint64_t *dirty_pending;
	uint64_t dirty_pending_phys, dirty_bitmap_frames;
	/* The `dirty` command's own log (its bitmap; frames charged to the guest). */
	uint64_t *dirty_cmd_bitmap;
	uint64_t dirty_cmd_phys;

	uint64_t exits_total;
	uint64_t exit_counts[EXIT_REASON_COUNT];
	uint64_t exits_other;            /* reasons beyond the table */
	uint64_t io_other_reads, io_other_writes, io_string;
	uint64_t hypercalls;
	uint64_t slices, slices_throttled;
	char stop_reason[VM_STOP_REASON_MAX];
};

/* What a handler wants the run loop to do next. */
enum vm_exit_action { EXIT_RESUME, EXIT_END_SLICE, EXIT_STOP };

/* Stops the guest for good (kept for vminfo until destroyed) and prints `guest NAME stopped: why`. */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs the guest for one slice (arch/x86/vmx/exit.c). */
void vm_run_slice(struct vm *vm, uint64_t slice_ns);

/* PML-full exit: moves the log into dirty_pending (kernel/vm/vm.c). */
void vm_pml_full(struct vm *vm);

/* Hypercalls (kernel/vm/hypercall.c): reads the call from gpr[], writes the result to gpr[RAX]. */
enum vm_exit_action hypercall_handle(struct vm *vm, uint64_t *gpr);
uint64_t vm_clock_ns(const struct vm *vm);

/* All guest slots, for the commands' tables. */
struct vm *vm_slot(unsigned i);

#endif
