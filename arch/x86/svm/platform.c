/*
 * The Linux platform's side of the SVM backend (arch/x86/vcpu.h, vcpu_set_platform):
 * nested page faults outside guest RAM decoded into MMIO exits (arch/x86/mmio_access.h),
 * the local APIC's MSRs reported to the VM layer, external interrupts and NMIs injected
 * through EVENTINJ (APM Vol. 2, 15.20), and the interrupt window: a virtual interrupt
 * (V_IRQ, 15.21.4) with the VINTR intercept, which exits as soon as the guest could take
 * an interrupt (RFLAGS.IF set, no interrupt shadow). SVM does not show whether an NMI is
 * being handled, so after injecting one the backend intercepts IRET and injects no other
 * NMI until the guest executed it (as KVM does).
 */
#include "arch/x86/apic.h"
#include "arch/x86/mmio_access.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define LENGTH_MSR     2      /* 0F 32, 0F 30 */
#define LOW32          0xffffffffull
#define V_INTR_PRIO_TOP (0xfu << SVM_INT_CTL_V_INTR_PRIO_SHIFT)
#define WINDOW_INT_CTL (SVM_INT_CTL_V_IRQ | SVM_INT_CTL_V_IGN_TPR | V_INTR_PRIO_TOP)

void svm_vcpu_set_platform(struct vcpu *v, const struct cpuid_platform *p)
{
	if (p && p->lapic)
		v->platform = *p;
	else
		memset(&v->platform, 0, sizeof(v->platform));
}

/* ---- MMIO ------------------------------------------------------------------------------ */

enum svm_exit_action svm_on_mmio(struct vcpu *v, uint64_t gpa, bool write, struct vcpu_exit *exit)
{
	struct guest_paging paging;
	struct mmio_page_fault pf;
	const char *why = "";
	struct mmio_insn *in = &v->mmio;

	svm_guest_paging(v, &paging);
	int err = mmio_access_decode(&paging, svm_rip_linear(v), svm_read_guest_ram, v, in, &pf, &why);
	if (err == FERR_NOENT) {
		v->vmcb->save.cr2 = pf.address;
		svm_inject_exception(v, VECTOR_PF, true, pf.error_code);
		return SVM_RESUME;
	}
	if (err)
		return svm_stop(v, exit, "MMIO at GPA 0x%llx: %s", (unsigned long long)gpa, why);
	if (in->write != write)
		return svm_stop(v, exit, "MMIO at GPA 0x%llx: the instruction %s, the fault says %s",
				(unsigned long long)gpa, in->write ? "stores" : "loads", write ? "write" : "read");
	exit->kind = VCPU_EXIT_MMIO;
	exit->mmio = (struct vcpu_mmio){
		.gpa = gpa, .size = in->size, .write = write,
		.value = write ? mmio_store_value(in, svm_gpr_read(v, in->reg)) : 0,
	};
	return SVM_REPORT;
}

void svm_vcpu_complete_mmio(struct vcpu *v, uint64_t value)
{
	const struct mmio_insn *in = &v->mmio;

	if (!in->write)
		svm_gpr_write(v, in->reg, mmio_load_result(in, svm_gpr_read(v, in->reg), value));
	svm_set_rip(v, v->vmcb->save.rip + in->length);
}

/* ---- the local APIC's MSRs ---------------------------------------------------------------- */

bool svm_platform_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t value, struct vcpu_exit *exit)
{
	if (!v->platform.lapic || (msr != MSR_IA32_APIC_BASE && msr != MSR_IA32_TSC_DEADLINE))
		return false;
	v->msr_write = write;
	exit->kind = VCPU_EXIT_MSR;
	exit->msr = (struct vcpu_msr){ .msr = msr, .write = write, .value = write ? value : 0 };
	return true;
}

void svm_vcpu_complete_msr(struct vcpu *v, bool ok, uint64_t value)
{
	if (!ok) {
		svm_inject_exception(v, VECTOR_GP, true, 0);
		return;
	}
	if (!v->msr_write) {
		svm_gpr_write(v, GPR_RAX, value & LOW32);
		svm_gpr_write(v, GPR_RDX, value >> 32);
	}
	svm_skip_instruction(v, LENGTH_MSR);
}

/* ---- events --------------------------------------------------------------------------------- */

bool svm_vcpu_interruptible(struct vcpu *v)
{
	const struct vmcb_control *c = &v->vmcb->control;

	return (v->vmcb->save.rflags & RFLAGS_IF) && !(c->int_state & SVM_INT_STATE_SHADOW) &&
	       !(c->event_inj & SVM_EVENT_VALID);
}

void svm_vcpu_inject_interrupt(struct vcpu *v, uint8_t vector)
{
	struct vmcb_control *c = &v->vmcb->control;

	c->event_inj = SVM_EVENT_VALID | SVM_EVENT_TYPE_INTR << SVM_EVENT_TYPE_SHIFT | vector;
	c->event_inj_error = 0;
}

bool svm_vcpu_inject_nmi(struct vcpu *v)
{
	struct vmcb_control *c = &v->vmcb->control;

	if ((c->event_inj & SVM_EVENT_VALID) || (c->intercept_misc1 & SVM_INTERCEPT1_IRET))
		return false;
	c->event_inj = SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI << SVM_EVENT_TYPE_SHIFT | VECTOR_NMI;
	c->event_inj_error = 0;
	c->intercept_misc1 |= SVM_INTERCEPT1_IRET;   /* NMIs are blocked until the handler's IRET */
	return true;
}

void svm_vcpu_request_interrupt_window(struct vcpu *v, bool on)
{
	struct vmcb_control *c = &v->vmcb->control;

	if (on) {
		c->int_ctl |= WINDOW_INT_CTL;
		c->int_vector = 0;   /* never delivered: the VINTR intercept comes first */
		c->intercept_misc1 |= SVM_INTERCEPT1_VINTR;
	} else {
		c->int_ctl &= ~WINDOW_INT_CTL;
		c->intercept_misc1 &= ~SVM_INTERCEPT1_VINTR;
	}
}

enum svm_exit_action svm_on_vintr(struct vcpu *v, struct vcpu_exit *exit)
{
	svm_vcpu_request_interrupt_window(v, false);
	exit->kind = VCPU_EXIT_INTERRUPT_WINDOW;
	return SVM_REPORT;
}
