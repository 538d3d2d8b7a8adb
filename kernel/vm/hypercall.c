/*
 * The hypercalls of include/ferry/guest_abi.h: VMCALL with the number in RAX,
 * arguments in RDI, RSI, RDX; the result (or a negative ferry_err) in RAX. The
 * vCPU backend decodes the call (struct vcpu_hypercall) and writes the result.
 *
 * Only the guest's kernel may call: a hypercall from CPL 1-3 does nothing and
 * returns FERR_PERM (as KVM and Xen answer -EPERM), or any process in a guest
 * could print the guest's memory on Ferry's console. PRINT reads guest RAM only
 * inside [0, ram_bytes) and at most PRINT_MAX_BYTES: FERR_RANGE or FERR_TOOBIG
 * otherwise, nothing printed.
 */
#include "ferry/guest_abi.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"
#include "kernel/memory.h"
#include "kernel/vm/vm_internal.h"

#define PRINT_MAX_BYTES 4096
#define CPL_KERNEL      0

uint64_t vm_clock_ns(const struct vm *vm)
{
	/* From the guest's TSC, which travels with it: the clock goes on after a migration. */
	uint64_t ticks = vcpu_guest_tsc(vm->vcpu) - vm->clock_tsc_base;
	uint64_t hz = vm->tsc_hz;
	return vm->clock_ns_base + ticks / hz * NS_PER_S + ticks % hz * NS_PER_S / hz;
}

static int64_t print(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (len > PRINT_MAX_BYTES)
		return FERR_TOOBIG;
	if (gpa > vm->ram_bytes || len > vm->ram_bytes - gpa)
		return FERR_RANGE;
	const uint8_t *text = (const uint8_t *)phys_to_ptr(vm->ram_phys) + gpa;
	for (uint64_t i = 0; i < len; i++)
		vdev_uart_put(&vm->uart, text[i]);
	return FERR_OK;
}

uint64_t hypercall_handle(struct vm *vm, const struct vcpu_hypercall *call, bool *yield)
{
	int64_t result;

	*yield = false;
	if (call->cpl != CPL_KERNEL) {
		vm->hypercalls_refused++;
		return (uint64_t)(int64_t)FERR_PERM;
	}
	switch (call->nr) {
	case FERRY_HC_CLOCK_NS:
		result = (int64_t)vm_clock_ns(vm);
		break;
	case FERRY_HC_PRINT:
		result = print(vm, call->arg[0], call->arg[1]);
		break;
	case FERRY_HC_YIELD:
		result = 0;
		*yield = true;
		break;
	default:
		result = FERR_NOTSUP;
		break;
	}
	return (uint64_t)result;
}
