/*
 * Side channels and native events under VT-x (the policy: arch/x86/spec_ctrl.h;
 * machine checks: arch/x86/mce.h):
 *  - exit reason 0 (exception or NMI, SDM Vol. 3C 27.2.2): the exception bitmap
 *    holds #MC only, so it is a host NMI or a machine check. A host NMI is the
 *    host's: with NMI exiting it never reached the guest and NMIs stay blocked
 *    after such an exit until an IRET, so it is handed to Ferry's own NMI
 *    handler with INT 2 (as KVM does), whose IRET unblocks them; the slice ends.
 *    A machine check is judged by mce_guest_event(): the guest stops, or Ferry
 *    panics when the CPU cannot be trusted. Neither is ever given to the guest.
 *  - WBINVD exiting (secondary control bit 6): guests have no device that
 *    writes memory behind the cache's back (no pass-through, no non-coherent
 *    DMA), so the instruction is skipped instead of flushing every cache of the
 *    host for a guest's sake (KVM does the same without non-coherent DMA).
 * The speculation-control MSRs are msr.c's (spec_hw_guest_msr), the entry and
 * exit actions exit.c's (spec_hw_enter/exit) and entry.S's (VERW, RSB refill).
 * Image only.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/mce.h"
#include "arch/x86/spec_hw.h"
#include "kernel/lib/format.h"
#include "kernel/panic.h"

static enum exit_action stop_guest(struct exit_ctx *x, const char *reason)
{
	x->out->kind = VCPU_EXIT_STOP;
	fmt_snprintf(x->out->stop_reason, sizeof(x->out->stop_reason), "%s", reason);
	return EXIT_REPORT;
}

enum exit_action vmx_on_machine_check(struct exit_ctx *x)
{
	char why[VCPU_STOP_REASON_MAX];

	if (mce_guest_event(why, sizeof(why)) == MCE_HOST_FATAL)
		panic("%s (guest %s): the processor context is not trustworthy", why, x->v->name);
	return stop_guest(x, why);
}

enum exit_action vmx_on_exception_nmi(struct exit_ctx *x)
{
	uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);

	if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI) {
		__asm__ volatile("int $2" : : : "memory");
		x->out->kind = VCPU_EXIT_SLICE_END;
		return EXIT_REPORT;
	}
	if (INTR_INFO_VECTOR(info) == VECTOR_MC)
		return vmx_on_machine_check(x);
	char why[VCPU_STOP_REASON_MAX];
	fmt_snprintf(why, sizeof(why), "unexpected exception exit, interruption info 0x%x", info);
	return stop_guest(x, why);
}

enum exit_action vmx_on_wbinvd(struct exit_ctx *x)
{
	(void)x;
	vmx_skip_instruction();
	return EXIT_RESUME;
}
