/*
 * The Linux platform's side of the VT-x backend (arch/x86/vcpu.h, vcpu_set_platform):
 * EPT violations outside guest RAM decoded into MMIO exits (arch/x86/mmio_access.h),
 * the local APIC's MSRs reported to the VM layer, external interrupts and NMIs injected
 * through the VM-entry interruption-information field (SDM Vol. 3C 26.6), and the
 * interrupt window: the primary control "interrupt-window exiting" (25.6.2), which exits
 * at the start of the first instruction with RFLAGS.IF set and no STI or MOV-SS blocking
 * (26.7.5). The current VMCS is v's (vcpu_vmx.h).
 */
#include "arch/x86/apic.h"
#include "arch/x86/mmio_access.h"
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"

#include <string.h>

#define LOW32        0xffffffffull
#define CPL_USER     3
#define INTERRUPTIBILITY_NMI X86_BIT32(3)   /* blocking by NMI (SDM 24.4.2, table 24-3) */
#define BLOCKING_STI_MOVSS   (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)

void vmx_vcpu_set_platform(struct vcpu *v, const struct cpuid_platform *p)
{
	if (p && p->lapic)
		v->platform = *p;
	else
		memset(&v->platform, 0, sizeof(v->platform));
}

/* ---- MMIO ------------------------------------------------------------------------------ */

/* Guest RAM for the page walker: GPA [0, ram_bytes), anything else refused. */
static int read_guest_ram(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	const struct vcpu *v = ctx;

	if (gpa > v->ram_bytes || v->ram_bytes - gpa < len)
		return FERR_RANGE;
	memcpy(buf, phys_to_ptr(v->ram_phys + gpa), len);
	return FERR_OK;
}

/* The guest's paging as it sees it (CR0 and CR4 through their shadows) and CS:RIP. */
static uint64_t guest_paging(const struct vcpu *v, struct guest_paging *p)
{
	uint64_t cr0_mask = vmread(VMCS_CR0_MASK), cr4_mask = vmread(VMCS_CR4_MASK);
	uint32_t cs_access = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * SEG_CS);
	uint32_t ss_access = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS);

	*p = (struct guest_paging){
		.cr0 = (vmread(VMCS_GUEST_CR0) & ~cr0_mask) | (vmread(VMCS_CR0_SHADOW) & cr0_mask),
		.cr3 = vmread(VMCS_GUEST_CR3),
		.cr4 = (vmread(VMCS_GUEST_CR4) & ~cr4_mask) | (vmread(VMCS_CR4_SHADOW) & cr4_mask),
		.efer = vmread(VMCS_GUEST_EFER),
		.maxphyaddr = vmx_phys_bits(),
		.gb_pages = v->cpuid->ext1_edx & CPUID_EXT1_EDX_PAGE1GB,
		.user = AR_DPL(ss_access) == CPL_USER,
	};
	uint64_t rip = vmread(VMCS_GUEST_RIP);
	bool mode64 = (p->efer & EFER_LMA) && (cs_access & AR_L);
	return mode64 ? rip : (vmread(VMCS_GUEST_ES_BASE + 2 * SEG_CS) + rip) & LOW32;
}

enum exit_action vmx_on_mmio(struct exit_ctx *x, uint64_t gpa, bool write)
{
	struct vcpu *v = x->v;
	struct guest_paging paging;
	struct mmio_page_fault pf;
	const char *why = "";
	struct mmio_insn *in = &v->mmio;
	uint64_t rip = guest_paging(v, &paging);

	int err = mmio_access_decode(&paging, rip, read_guest_ram, v, in, &pf, &why);
	if (err == FERR_NOENT) {
		v->cr2 = pf.address;
		vmx_inject_exception(VECTOR_PF, true, pf.error_code);
		return EXIT_RESUME;
	}
	if (err)
		return vmx_stop(x, "MMIO at GPA 0x%llx: %s", (unsigned long long)gpa, why);
	if (in->write != write)
		return vmx_stop(x, "MMIO at GPA 0x%llx: the instruction %s, the fault says %s",
				(unsigned long long)gpa, in->write ? "stores" : "loads", write ? "write" : "read");
	x->out->kind = VCPU_EXIT_MMIO;
	x->out->mmio = (struct vcpu_mmio){
		.gpa = gpa, .size = in->size, .write = write,
		.value = write ? mmio_store_value(in, vmx_gpr_read(v, in->reg)) : 0,
	};
	return EXIT_REPORT;
}

void vmx_vcpu_complete_mmio(struct vcpu *v, uint64_t value)
{
	const struct mmio_insn *in = &v->mmio;

	vmx_vcpu_load(v);
	if (!in->write)
		vmx_gpr_write(v, in->reg, mmio_load_result(in, vmx_gpr_read(v, in->reg), value));
	/* The exit's instruction length is undefined for EPT violations: the decoder's. */
	vmx_set_rip(vmread(VMCS_GUEST_RIP) + in->length);
}

/* ---- the local APIC's MSRs ---------------------------------------------------------------- */

bool vmx_platform_msr(struct exit_ctx *x, uint32_t msr, bool write, uint64_t value)
{
	if (!x->v->platform.lapic || (msr != MSR_IA32_APIC_BASE && msr != MSR_IA32_TSC_DEADLINE))
		return false;
	x->v->msr_write = write;
	x->out->kind = VCPU_EXIT_MSR;
	x->out->msr = (struct vcpu_msr){ .msr = msr, .write = write, .value = write ? value : 0 };
	return true;
}

void vmx_vcpu_complete_msr(struct vcpu *v, bool ok, uint64_t value)
{
	vmx_vcpu_load(v);
	if (!ok) {
		vmx_inject_gp();
		return;
	}
	if (!v->msr_write) {
		v->gpr[GPR_RAX] = value & LOW32;
		v->gpr[GPR_RDX] = value >> 32;
	}
	vmx_skip_instruction();
}

/* ---- events --------------------------------------------------------------------------------- */

bool vmx_vcpu_interruptible(struct vcpu *v)
{
	vmx_vcpu_load(v);
	return (vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & BLOCKING_STI_MOVSS) &&
	       !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

void vmx_vcpu_inject_interrupt(struct vcpu *v, uint8_t vector)
{
	vmx_vcpu_load(v);
	vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_EXTERNAL << INTR_INFO_TYPE_SHIFT | vector);
}

bool vmx_vcpu_inject_nmi(struct vcpu *v)
{
	vmx_vcpu_load(v);
	if ((vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID) ||
	    (vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS)))
		return false;   /* an NMI is being handled (until its IRET), or one must wait (26.3.1.5) */
	vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT | VECTOR_NMI);
	return true;
}

void vmx_vcpu_request_interrupt_window(struct vcpu *v, bool on)
{
	vmx_vcpu_load(v);
	if (!vmx_controls()->interrupt_window)
		return;   /* the VM layer then tries again at the next exit (the slice timer) */
	uint32_t proc = on ? v->proc | PROC_INTERRUPT_WINDOW : v->proc & ~PROC_INTERRUPT_WINDOW;
	if (proc != v->proc) {
		v->proc = proc;
		vmwrite(VMCS_PROC_CONTROLS, proc);
	}
}

enum exit_action vmx_on_interrupt_window(struct exit_ctx *x)
{
	vmx_vcpu_request_interrupt_window(x->v, false);
	x->out->kind = VCPU_EXIT_INTERRUPT_WINDOW;
	return EXIT_REPORT;
}
