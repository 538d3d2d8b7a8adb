/*
 * One slice of a guest: vcpu_run() in a loop until the slice ends, acting on
 * what the vCPU reports. Port I/O goes to the UART model at FERRY_UART_PORT
 * (other ports read all ones and ignore writes; INS/OUTS are skipped, not
 * emulated; all of them counted for `vminfo`), VMCALLs to the hypercalls, a halt
 * or a yield gives up the rest of the slice, and a stop reason stops the guest
 * (vm_stop, here: the run loop is where a guest stops). Everything else the
 * backend settles inside vcpu_run().
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

void vm_run_slice(struct vm *vm, uint64_t slice_ns)
{
	uint64_t deadline = rdtsc() + clock_tsc_hz() / US_PER_S * (slice_ns / NS_PER_US);
	struct vcpu_exit exit;

	while (vm->state == VM_RUNNING) {
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
			return;
		}
	}
}
