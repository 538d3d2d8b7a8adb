/*
 * The Linux platform of a guest at run time (kernel/vdev/platform.h draws it): its
 * local APIC and I/O APIC models wired to each other and to the UART's interrupt line
 * (GSI 4), the MMIO windows that route a VCPU_EXIT_MMIO to a device model by address,
 * the local APIC's MSRs, the ACPI power and reset ports, interrupt injection before
 * each entry, and HLT as a blocked state.
 *
 * What the run loop (kernel/vm/run.c) asks of it:
 *   - vm_platform_prepare() before each vcpu_run(): the APIC timer brought up to the
 *     guest's TSC; an NMI or the highest interrupt the APIC lets through injected when the
 *     guest can take it, else the interrupt window requested; the slice's deadline moved
 *     in to the APIC timer's next expiry. False when the guest is halted and nothing wakes
 *     it: the slice ends without entering.
 *   - vm_platform_runnable(), for the scheduler: a halted guest is skipped, not spun,
 *     until an interrupt is deliverable (its timer expired, or a device raised a line).
 *   - the exits: MMIO, MSRs, the power ports, HLT.
 *
 * The models' state (struct vm_platform's lapic.s, ioapic.s and halted) is what a
 * snapshot carries (kernel/vm/snapshot.h). Internal to kernel/vm/; image only.
 */
#ifndef FERRY_VM_PLATFORM_H
#define FERRY_VM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/vcpu.h"
#include "kernel/vdev/ioapic.h"
#include "kernel/vdev/lapic.h"

struct vm;

/* A device's MMIO window: accesses at [base, base + size) go to read/write with the
 * offset into the window; a refusal (a ferry_err with *why) stops the guest. A virtio-mmio
 * device is one more entry (vm_platform_add_window). */
typedef int (*vm_mmio_read_fn)(void *dev, uint32_t offset, unsigned size, uint64_t *value,
			       const char **why);
typedef int (*vm_mmio_write_fn)(void *dev, uint32_t offset, unsigned size, uint64_t value,
				const char **why);

struct vm_mmio_window {
	uint64_t base;
	uint32_t size;
	vm_mmio_read_fn read;
	vm_mmio_write_fn write;
	void *dev;
};

#define VM_MMIO_WINDOWS_MAX 12   /* the two APICs and up to PLATFORM_VIRTIO_MAX devices */

/* What a power port asked of the guest (vm_platform_io). */
enum vm_power_request { VM_POWER_NONE, VM_POWER_OFF, VM_POWER_RESET };

struct vm_platform {
	bool on;
	struct cpuid_platform cpuid;    /* the TSC leaves and the APIC timer's tick */
	struct vdev_lapic lapic;
	struct vdev_ioapic ioapic;
	bool halted;                    /* after HLT, until an interrupt can be taken */
	uint8_t rtc_index;              /* the CMOS clock's selected register */
	struct vm_mmio_window windows[VM_MMIO_WINDOWS_MAX];
	unsigned window_count;
	/* For `vminfo`: */
	uint64_t interrupts, nmis, mmio_exits, msr_exits, halts;
};

/* Gives vm the platform: the models at their reset state, wired; the APIC windows; the
 * UART's line on GSI 4; the vCPU told (vcpu_set_platform). */
int vm_platform_init(struct vm *vm, const struct cpuid_platform *cpuid, const char **why);
/* Adds an MMIO window (FERR_NOMEM when the table is full, FERR_EXIST when it overlaps). */
int vm_platform_add_window(struct vm *vm, const struct vm_mmio_window *w);

bool vm_platform_prepare(struct vm *vm, uint64_t *deadline_tsc);
bool vm_platform_runnable(struct vm *vm);

void vm_platform_mmio(struct vm *vm, const struct vcpu_mmio *m);
void vm_platform_msr(struct vm *vm, const struct vcpu_msr *m);
/* The power and reset ports: true when io was one of them (completed); *power says what
 * the guest asked. */
bool vm_platform_io(struct vm *vm, const struct vcpu_io *io, enum vm_power_request *power);
void vm_platform_halt(struct vm *vm);

#endif
