/*
 * struct vm and what the VM modules share among themselves (kernel/vm/vm.c, the
 * slice loop in kernel/vm/run.c, the hypercalls in kernel/vm/hypercall.c, and
 * the commands in kernel/shell/cmd_vm.c that still read a guest's name, id and
 * UART directly). Other modules use kernel/vm/vm.h only. The vCPU is the
 * backend's (arch/x86/vcpu.h): reached through its calls, never its fields.
 */
#ifndef FERRY_VM_INTERNAL_H
#define FERRY_VM_INTERNAL_H

#include "arch/x86/vcpu.h"
#include "kernel/console.h"
#include "kernel/frame_alloc.h"
#include "kernel/vdev/uart.h"
#include "kernel/vm/vm.h"

#define VM_SLICE_NS        10000000ull   /* 10 ms */
#define VM_STOP_REASON_MAX VCPU_STOP_REASON_MAX
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
	struct vcpu *vcpu;               /* with its EPT/NPT; frames charged to owner */

	struct cpu_features cpu;         /* the CPUID mask this guest was given */
	uint64_t tsc_hz;                 /* the TSC rate the guest was told */
	uint64_t clock_ns_base, clock_tsc_base;
	struct vdev_uart uart;
	struct console_source console;   /* its lines on Ferry's console (guest_console.c) */
	char console_name[VM_NAME_MAX + 8];          /* "guest NAME" */
	char console_where[VM_NAME_MAX + 12];        /* "`console NAME`" */

	bool dirty_logging;
	uint64_t dirty_bitmap_frames;    /* a bitmap of the guest's pages, in frames */
	/* The `dirty` command's own log (its bitmap; frames charged to the guest). */
	uint64_t *dirty_cmd_bitmap;
	uint64_t dirty_cmd_phys;

	uint64_t io_other_reads, io_other_writes, io_string;
	uint64_t hypercalls;
	uint64_t hypercalls_refused;     /* from guest user mode (FERR_PERM) */
	uint64_t slices, slices_throttled;
	char stop_reason[VM_STOP_REASON_MAX];
};

/* Stops the guest for good (kept for vminfo until destroyed) and prints `guest NAME stopped: why`. */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * While the console has output queued, slices are no longer than this: Ferry runs
 * with interrupts masked and drains the UART from a poller between slices, and a
 * 16-byte FIFO at 115200 baud empties in 1.39 ms.
 */
#define VM_SLICE_CONSOLE_NS 1000000ull   /* 1 ms */

/* Runs the guest for one slice of slice_ns (kernel/vm/run.c). */
void vm_run_slice(struct vm *vm, uint64_t slice_ns);

/*
 * Hypercalls (kernel/vm/hypercall.c): the result of call (a negative ferry_err
 * for a failed or unknown one); *yield says whether the guest gave up its slice.
 */
uint64_t hypercall_handle(struct vm *vm, const struct vcpu_hypercall *call, bool *yield);
uint64_t vm_clock_ns(const struct vm *vm);

/* All guest slots, for the commands' tables. */
struct vm *vm_slot(unsigned i);

#endif
