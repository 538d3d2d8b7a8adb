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
#include "kernel/poll.h"
#include "kernel/vdev/uart.h"
#include "kernel/vm/platform.h"
#include "kernel/vm/throttle.h"
#include "kernel/vm/vm.h"

#define VM_SLICE_NS        10000000ull   /* 10 ms */
/*
 * While a poller has I/O going on (kernel/poll.h): a slice of a tenth of a poller's turn.
 * A migration or a stream that needs the CPU (the channel's cipher, under an emulator)
 * takes whole turns, so a CPU-bound guest beside it gets at most about a tenth of the
 * time and costs it at most about a tenth of its throughput (docs/migration.md, "Pace
 * beside busy guests").
 */
#define VM_SLICE_BUSY_NS   (POLL_BUDGET_NS / 10)
#define VM_STOP_REASON_MAX VCPU_STOP_REASON_MAX
#define VM_OWNER_NAME_MAX  (VM_NAME_MAX + 8)
#define VM_IMAGE_LINUX     "linux"        /* create's image name for the Linux guest */
#define VM_DEFAULT_MEMORY_MIB 32          /* an ELF test guest's RAM when create names none */
#define VM_LINUX_DEFAULT_MIB  128         /* a Linux guest's (the kernel needs 80 MiB at least) */
#define VM_LINUX_ARGS_MAX  256            /* create's args= for a Linux guest, with the NUL */

struct vm {
	bool used;
	unsigned id;
	char name[VM_NAME_MAX + 1];
	char owner_name[VM_OWNER_NAME_MAX];
	struct frame_owner owner;        /* every frame of this guest is charged here */
	enum vm_state state;
	bool migrating;
	struct vm_throttle throttle;     /* the larger of the two shares below */
	unsigned throttle_cap;           /* the operator's (`throttle`) */
	unsigned throttle_converge;      /* a migration's auto-converge */
	uint8_t mac[6];

	uint64_t ram_phys, ram_bytes;
	struct vcpu *vcpu;               /* with its EPT/NPT; frames charged to owner */

	struct cpu_features cpu;         /* the CPUID mask this guest was given */
	uint64_t tsc_hz;                 /* the TSC rate the guest was told */
	uint64_t clock_ns_base, clock_tsc_base;
	struct vdev_uart uart;
	struct vm_platform platform;     /* the Linux platform (platform.on), else unused */
	char linux_args[VM_LINUX_ARGS_MAX];   /* a Linux guest: create's args=, for its resets */
	struct vm_nic *nic;              /* a Linux guest's network card (kernel/vm/nic.h), or NULL */
	bool dirty_all;                  /* the next dirty collect reports every page (Ferry wrote RAM) */
	bool console_attached;           /* `console NAME` shows its bytes: no [NAME] lines */
	uint64_t paused_guest_tsc;       /* a Linux guest: its TSC when paused (vm_pause) */
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
	uint64_t slices;
	char stop_reason[VM_STOP_REASON_MAX];
};

/* Stops the guest for good (kept for vminfo until destroyed) and prints `guest NAME stopped: why`. */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A Linux guest (kernel/vm/linux.c): creation from the ESP's guests/vmlinuz and
 * guests/initramfs.cpio.gz with its ACPI tables and platform, and its power requests:
 * poweroff stops it cleanly (state stopped, reason "powered off"), reset boots it again
 * from the same files (RAM cleared, devices and vCPU at their reset state).
 */
int vm_create_linux(const char *name, uint64_t memory_mib, const uint8_t *mac, const char *args,
		    struct vm **out, const char **why);
void vm_linux_power(struct vm *vm, enum vm_power_request request);
/* What vm_create_linux and vm_create_incoming share (kernel/vm/vm.c). */
int vm_build_shell(const char *name, uint64_t memory_mib, const uint8_t *mac, struct vm **out,
		   const char **why);
void vm_teardown(struct vm *vm);

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
