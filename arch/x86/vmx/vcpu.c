/*
 * One VT-x vCPU: creation (EPT over guest RAM, the VMCS set up by area:
 * execution controls, exit/entry controls, host state), the guest state in and
 * out as struct x86_cpu_state, the guest TSC, and the lazy switch of what VMX
 * does not switch (FPU, SYSCALL MSRs, KERNEL_GS_BASE); see vcpu_vmx.h. Field
 * meanings: SDM Vol. 3C ch. 24.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"


#include <string.h>

#define VMCS_LINK_NONE (~0ull)
#define PDPTE_COUNT    4

_Static_assert(sizeof(struct vcpu) <= FRAME_SIZE, "struct vcpu lives in one frame");

static struct vcpu *state_owner;       /* whose FPU and SYSCALL MSRs the CPU holds */

/* ---- VMCS set-up by area ------------------------------------------------------------- */

static void init_exec_controls(struct vcpu *v)
{
	const struct vmx_controls *c = vmx_controls();

	vmwrite(VMCS_PIN_CONTROLS, c->pin);
	v->proc = c->proc;
	vmwrite(VMCS_PROC_CONTROLS, v->proc);
	v->proc2 = c->proc2;
	vmwrite(VMCS_PROC2_CONTROLS, v->proc2);
	vmwrite(VMCS_EXCEPTION_BITMAP, X86_BIT32(VECTOR_MC));   /* a machine check is the host's (spec.c) */
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_CR0_MASK, vmx_cr0_host_owned());
	vmwrite(VMCS_CR4_MASK, vmx_cr4_host_owned());
	if (c->vpid)
		vmwrite(VMCS_VPID, v->vpid);
	vmwrite(VMCS_EPT_POINTER, v->eptp);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
	vmwrite(VMCS_LINK_POINTER, VMCS_LINK_NONE);
}

static void init_exit_entry_controls(struct vcpu *v)
{
	const struct vmx_controls *c = vmx_controls();

	vmwrite(VMCS_EXIT_CONTROLS, c->exit);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	v->entry = c->entry;
	vmwrite(VMCS_ENTRY_CONTROLS, v->entry);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
}

static void init_host_state(void)
{
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SEL, GDT_SELECTOR_CODE);
	vmwrite(VMCS_HOST_SS_SEL, GDT_SELECTOR_DATA);
	vmwrite(VMCS_HOST_DS_SEL, GDT_SELECTOR_DATA);
	vmwrite(VMCS_HOST_ES_SEL, GDT_SELECTOR_DATA);
	vmwrite(VMCS_HOST_FS_SEL, GDT_SELECTOR_DATA);
	vmwrite(VMCS_HOST_GS_SEL, GDT_SELECTOR_DATA);
	vmwrite(VMCS_HOST_TR_SEL, GDT_SELECTOR_TSS);
	vmwrite(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(VMCS_HOST_TR_BASE, tss_base());
	vmwrite(VMCS_HOST_GDTR_BASE, gdt_base());
	vmwrite(VMCS_HOST_IDTR_BASE, idt_base());
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_IA32_EFER));
	if (vmx_controls()->load_pat)
		vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
}

/* ---- creation ------------------------------------------------------------------------ */

/* EPT over guest RAM: one run of table frames, RAM mapped read/write/execute from GPA 0. */
static int build_ept(struct vcpu *v, uint64_t ram_phys, const char **why)
{
	uint64_t frames = ept_tables_needed(v->ram_bytes);

	if (mem_alloc(v->owner, frames, 1, &v->ept_phys)) {
		*why = "not enough free memory for the guest";
		return FERR_NOMEM;
	}
	ept_init(&v->ept, phys_to_ptr(v->ept_phys), v->ept_phys, frames);
	/* 4 KiB leaves only, so that dirty tracking is per page. */
	int err = ept_map(&v->ept, 0, ram_phys, v->ram_bytes, EPT_RWX, EPT_MEMTYPE_WB, false);
	if (err)
		*why = err == FERR_NOMEM ? "not enough free memory for the guest" : "EPT set-up failed";
	return err;
}

int vmx_vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why)
{
	const struct vmx_controls *c = vmx_controls();
	uint64_t self_phys;

	if (mem_alloc(cfg->owner, 1, 1, &self_phys)) {
		*why = "not enough free memory for the guest";
		return FERR_NOMEM;
	}
	struct vcpu *v = phys_to_ptr(self_phys);
	memset(v, 0, sizeof(*v));
	v->self_phys = self_phys;
	v->owner = cfg->owner;
	v->name = cfg->name;
	v->cpuid = cfg->cpuid;
	v->ram_phys = cfg->ram_phys;
	v->ram_bytes = cfg->ram_bytes;
	v->vpid = (uint16_t)(cfg->slot + 1);   /* VPID 0 is the host's */
	int err = build_ept(v, cfg->ram_phys, why);
	if (!err) {
		err = vmx_dirty_init(v);
		if (err)
			*why = "not enough free memory for the guest";
	}
	if (!err) {
		err = mem_alloc(v->owner, 1, 1, &v->vmcs_phys);
		if (err)
			*why = "not enough free memory for the guest";
	}
	if (err) {
		vmx_vcpu_destroy(v);
		return err;
	}
	*(uint32_t *)phys_to_ptr(v->vmcs_phys) = c->revision;
	v->eptp = ept_root(&v->ept) | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 |
		  (c->ept_ad ? EPTP_ENABLE_AD : 0);
	v->tsc_offset = -rdtsc();   /* the guest's TSC starts at 0 */
	vmx_vmclear(v->vmcs_phys);
	vmx_vmptrld(v->vmcs_phys);
	init_exec_controls(v);
	init_exit_entry_controls(v);
	init_host_state();
	vmx_dirty_attach(v);
	vmx_invvpid(v->vpid);
	vmx_invept(v->eptp);

	struct x86_cpu_state placeholder;
	x86_cpu_state_flat64(&placeholder);
	vmx_vcpu_set_state(v, &placeholder);
	*out = v;
	return FERR_OK;
}

/* Forgets v as the owner of the FPU/MSRs (its state is reloaded, or it is going away). */
static void forget_switched_state(struct vcpu *v)
{
	if (state_owner == v)
		state_owner = NULL;
}

void vmx_vcpu_destroy(struct vcpu *v)
{
	forget_switched_state(v);
	if (v->vmcs_phys) {
		vmx_vmclear(v->vmcs_phys);
		vmx_invvpid(v->vpid);
		vmx_invept(v->eptp);
		mem_free(v->owner, v->vmcs_phys, 1);
	}
	vmx_dirty_release(v);
	if (v->ept_phys)
		mem_free(v->owner, v->ept_phys, v->ept.table_frames);
	mem_free(v->owner, v->self_phys, 1);
}

uint64_t vmx_vcpu_table_frames(struct vcpu *v)
{
	return v->ept.used_frames;
}

/* ---- what VMX does not switch -------------------------------------------------------- */

static void save_switched_state(struct vcpu *v)
{
	__asm__ volatile("fxsave64 %0" : "=m"(v->fxsave));
	v->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);   /* SWAPGS changes it without an exit */
}

void vmx_vcpu_switch_to(struct vcpu *v)
{
	if (state_owner == v)
		return;
	if (state_owner)
		save_switched_state(state_owner);
	__asm__ volatile("fxrstor64 %0" : : "m"(v->fxsave));
	wrmsr(MSR_STAR, v->star);
	wrmsr(MSR_LSTAR, v->lstar);
	wrmsr(MSR_CSTAR, v->cstar);
	wrmsr(MSR_SFMASK, v->sfmask);
	wrmsr(MSR_KERNEL_GS_BASE, v->kernel_gs_base);
	state_owner = v;
}

/* ---- the guest state in and out ------------------------------------------------------ */

static void set_segment(unsigned i, const struct x86_segment *s)
{
	vmwrite(VMCS_GUEST_ES_SEL + 2 * i, s->selector);
	vmwrite(VMCS_GUEST_ES_BASE + 2 * i, s->base);
	vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, s->limit);
	vmwrite(VMCS_GUEST_ES_AR + 2 * i, s->access);
}

static void get_segment(unsigned i, struct x86_segment *s)
{
	s->selector = (uint16_t)vmread(VMCS_GUEST_ES_SEL + 2 * i);
	s->base = vmread(VMCS_GUEST_ES_BASE + 2 * i);
	s->limit = (uint32_t)vmread(VMCS_GUEST_ES_LIMIT + 2 * i);
	s->access = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * i);
}

void vmx_vcpu_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	if (state_owner == v)
		save_switched_state(v);
	vmx_vcpu_load(v);
	memcpy(s->gpr, v->gpr, sizeof(s->gpr));
	s->gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
	s->rip = vmread(VMCS_GUEST_RIP);
	s->rflags = vmread(VMCS_GUEST_RFLAGS);
	uint64_t cr0_mask = vmread(VMCS_CR0_MASK), cr4_mask = vmread(VMCS_CR4_MASK);
	s->cr0 = (vmread(VMCS_GUEST_CR0) & ~cr0_mask) | (vmread(VMCS_CR0_SHADOW) & cr0_mask);
	s->cr4 = (vmread(VMCS_GUEST_CR4) & ~cr4_mask) | (vmread(VMCS_CR4_SHADOW) & cr4_mask);
	s->cr3 = vmread(VMCS_GUEST_CR3);
	s->cr2 = v->cr2;
	s->dr7 = vmread(VMCS_GUEST_DR7);
	memcpy(s->dr, v->dr, sizeof(s->dr));
	s->dr6 = v->dr6;
	for (unsigned i = 0; i < PDPTE_COUNT; i++)
		s->pdpte[i] = vmread(VMCS_GUEST_PDPTE0 + 2 * i);
	for (unsigned i = 0; i < SEG_COUNT; i++)
		get_segment(i, &s->seg[i]);
	s->gdtr_base = vmread(VMCS_GUEST_GDTR_BASE);
	s->gdtr_limit = (uint32_t)vmread(VMCS_GUEST_GDTR_LIMIT);
	s->idtr_base = vmread(VMCS_GUEST_IDTR_BASE);
	s->idtr_limit = (uint32_t)vmread(VMCS_GUEST_IDTR_LIMIT);
	s->efer = vmread(VMCS_GUEST_EFER);
	s->pat = vmx_controls()->load_pat ? vmread(VMCS_GUEST_PAT) : PAT_POWER_ON;
	s->debugctl = vmread(VMCS_GUEST_DEBUGCTL);
	s->sysenter_cs = vmread(VMCS_GUEST_SYSENTER_CS);
	s->sysenter_esp = vmread(VMCS_GUEST_SYSENTER_ESP);
	s->sysenter_eip = vmread(VMCS_GUEST_SYSENTER_EIP);
	s->star = v->star;
	s->lstar = v->lstar;
	s->cstar = v->cstar;
	s->sfmask = v->sfmask;
	s->kernel_gs_base = v->kernel_gs_base;
	s->spec_ctrl = v->spec.spec_ctrl;
	memcpy(s->fxsave, v->fxsave, FXSAVE_BYTES);
	s->interruptibility = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	s->activity = (uint32_t)vmread(VMCS_GUEST_ACTIVITY);
	s->pending_debug = vmread(VMCS_GUEST_PENDING_DBG);
	/* A VM exit clears only the valid bit of the entry interruption information (Intel
	 * SDM 24.8.3), so an event injected earlier leaves its vector and type behind: that
	 * is no pending event, and the state says none (the validator refuses data without
	 * the valid bit, as a destination did: tests/test_linux_migration.py under Bochs). */
	uint32_t entry_info = (uint32_t)vmread(VMCS_ENTRY_INTR_INFO);
	s->pending_event = (entry_info & INTR_INFO_VALID) ? entry_info : 0;
	s->pending_error = (s->pending_event & INTR_INFO_DELIVER_ERROR) ?
				   (uint32_t)vmread(VMCS_ENTRY_EXCEPTION_ERR) : 0;
}

void vmx_vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	forget_switched_state(v);   /* the FPU image and MSRs below are reloaded on the next entry */
	vmx_vcpu_load(v);
	memcpy(v->gpr, s->gpr, sizeof(v->gpr));
	vmwrite(VMCS_GUEST_RSP, s->gpr[GPR_RSP]);
	vmwrite(VMCS_GUEST_RIP, s->rip);
	vmwrite(VMCS_GUEST_RFLAGS, s->rflags);
	vmwrite(VMCS_GUEST_CR0, vmx_cr0_real(s->cr0));
	vmwrite(VMCS_CR0_SHADOW, s->cr0);
	vmwrite(VMCS_GUEST_CR4, vmx_cr4_real(s->cr4));
	vmwrite(VMCS_CR4_SHADOW, s->cr4);
	vmwrite(VMCS_GUEST_CR3, s->cr3);
	v->cr2 = s->cr2;
	vmwrite(VMCS_GUEST_DR7, s->dr7);
	memcpy(v->dr, s->dr, sizeof(v->dr));
	v->dr6 = s->dr6;
	for (unsigned i = 0; i < PDPTE_COUNT; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, s->pdpte[i]);
	for (unsigned i = 0; i < SEG_COUNT; i++)
		set_segment(i, &s->seg[i]);
	vmwrite(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdtr_limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, s->idtr_base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idtr_limit);
	if (vmx_controls()->load_pat)
		vmwrite(VMCS_GUEST_PAT, s->pat);
	vmwrite(VMCS_GUEST_DEBUGCTL, s->debugctl);
	vmwrite(VMCS_GUEST_SYSENTER_CS, s->sysenter_cs);
	vmwrite(VMCS_GUEST_SYSENTER_ESP, s->sysenter_esp);
	vmwrite(VMCS_GUEST_SYSENTER_EIP, s->sysenter_eip);
	v->star = s->star;
	v->lstar = s->lstar;
	v->cstar = s->cstar;
	v->sfmask = s->sfmask;
	v->kernel_gs_base = s->kernel_gs_base;
	v->spec.spec_ctrl = s->spec_ctrl;
	memcpy(v->fxsave, s->fxsave, FXSAVE_BYTES);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->interruptibility);
	vmwrite(VMCS_GUEST_ACTIVITY, s->activity);
	vmwrite(VMCS_GUEST_PENDING_DBG, s->pending_debug);
	vmwrite(VMCS_ENTRY_INTR_INFO, s->pending_event);
	vmwrite(VMCS_ENTRY_EXCEPTION_ERR, s->pending_error);
	vmwrite(VMCS_ENTRY_INSTR_LEN, 0);
	vmx_set_efer(v, s->efer);
}

/* ---- time ---------------------------------------------------------------------------- */

uint64_t vmx_vcpu_guest_tsc(struct vcpu *v)
{
	return rdtsc() + v->tsc_offset;
}

void vmx_vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc)
{
	v->tsc_offset = guest_tsc - rdtsc();
	vmx_vcpu_load(v);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
}
