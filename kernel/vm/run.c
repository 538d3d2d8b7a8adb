/*
 * One slice of a guest: vcpu_run() in a loop until the slice ends, acting on
 * what the vCPU reports. Port I/O goes to the UART model at FERRY_UART_PORT
 * (other ports read all ones and ignore writes; INS/OUTS are skipped, not
 * emulated; all of them counted for `vminfo`), VMCALLs to the hypercalls, a halt
 * or a yield gives up the rest of the slice, and a stop reason stops the guest
 * (vm_stop, here: the run loop is where a guest stops). Everything else the
 * backend settles inside vcpu_run().
 *
 * A guest with the Linux platform (kernel/vm/platform.h) differs: before each entry
 * its interrupts are injected and the entry's deadline is the earlier of the slice's
 * end and its APIC timer's next expiry (an expiry mid-slice comes back here as
 * VCPU_EXIT_SLICE_END and the slice goes on); HLT blocks it until an interrupt can be
 * taken; MMIO, the APIC MSRs and the platform's ports go to the platform.
 */
#include "arch/x86/cpu.h"
#include "ferry/guest_abi.h"
#include "kernel/clock.h"
#include "kernel/lib/units.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/vm/vm_internal.h"

#include <stdarg.h>

#define UART_IN_HIGH_BYTES 0xffffff00u   /* IN AX/EAX from a UART register: the bytes above read as ones */
#define IO_ALL_ONES        0xffffffffu   /* what an unclaimed port reads */

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPED;
	klog_error("guest %s stopped: %s", vm->name, vm->stop_reason);
}

static void handle_io(struct vm *vm, const struct vcpu_io *io)
{
	uint32_t value = 0;
	enum vm_power_request power;

	if (vm->platform.on && vm_platform_io(vm, io, &power)) {
		if (power != VM_POWER_NONE)
			vm_linux_power(vm, power);
		return;
	}
	if (io->string) {
		vm->io_string++;
	} else if (io->port >= FERRY_UART_PORT && io->port < FERRY_UART_PORT + VDEV_UART_PORTS) {
		unsigned reg = io->port - FERRY_UART_PORT;
		if (io->in)
			value = UART_IN_HIGH_BYTES | vdev_uart_read(&vm->uart, reg);
		else
			vdev_uart_write(&vm->uart, reg, (uint8_t)io->value);
	} else if (io->in) {
		vm->io_other_reads++;
		value = IO_ALL_ONES;
	} else {
		vm->io_other_writes++;
	}
	vcpu_complete_io(vm->vcpu, value);
}

/* Returns true when the guest gave up the rest of its slice (FERRY_HC_YIELD). */
static bool handle_hypercall(struct vm *vm, const struct vcpu_hypercall *call)
{
	bool yield;

	vm->hypercalls++;
	vcpu_complete_hypercall(vm->vcpu, hypercall_handle(vm, call, &yield));
	return yield;
}

/* The Linux platform's exits (and what the common ones mean with it); true when the slice ends. */
static bool handle_platform_exit(struct vm *vm, const struct vcpu_exit *exit, uint64_t slice_end)
{
	switch (exit->kind) {
	case VCPU_EXIT_MMIO:
		vm_platform_mmio(vm, &exit->mmio);
		return false;
	case VCPU_EXIT_MSR:
		vm_platform_msr(vm, &exit->msr);
		return false;
	case VCPU_EXIT_INTERRUPT_WINDOW:
		return false;
	case VCPU_EXIT_HALT:
		vm_platform_halt(vm);
		return false;
	case VCPU_EXIT_SLICE_END:
		return rdtsc() >= slice_end;   /* else the APIC timer's deadline came first */
	default:
		return true;
	}
}

void vm_run_slice(struct vm *vm, uint64_t slice_ns)
{
	uint64_t slice_end = rdtsc() + clock_tsc_hz() / US_PER_S * (slice_ns / NS_PER_US);
	struct vcpu_exit exit;

	while (vm->state == VM_RUNNING) {
		uint64_t deadline = slice_end;
		if (vm->platform.on && !vm_platform_prepare(vm, &deadline))
			return;   /* halted, and nothing wakes it yet */
		vcpu_run(vm->vcpu, deadline, &exit);
		switch (exit.kind) {
		case VCPU_EXIT_IO:
			handle_io(vm, &exit.io);
			break;
		case VCPU_EXIT_HYPERCALL:
			if (handle_hypercall(vm, &exit.hypercall))
				return;
			break;
		case VCPU_EXIT_STOP:
			vm_stop(vm, "%s", exit.stop_reason);
			return;
		case VCPU_EXIT_SLICE_END:
		case VCPU_EXIT_HALT:
			if (!vm->platform.on || handle_platform_exit(vm, &exit, slice_end))
				return;
			break;
		case VCPU_EXIT_MMIO:
		case VCPU_EXIT_MSR:
		case VCPU_EXIT_INTERRUPT_WINDOW:
			if (!vm->platform.on) {
				vm_stop(vm, "unexpected exit %d from a guest without the Linux platform", exit.kind);
				return;
			}
			handle_platform_exit(vm, &exit, slice_end);
			break;
		}
	}
}
