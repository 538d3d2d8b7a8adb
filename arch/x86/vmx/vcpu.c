/*
 * VMCS set-up by area (controls, host state, guest state) and the vCPU's state
 * in and out; see vcpu.h. Field meanings: SDM Vol. 3C ch. 24.
 */
#include "arch/x86/vcpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"
#include "arch/x86/vmx/ept.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"
#include "kernel/panic.h"

#include <string.h>

#define VMCS_LINK_NONE        (~0ull)
#define PML_ENTRIES           512
#define PML_INDEX_START       (PML_ENTRIES - 1)
#define SEG_LIMIT_4G          0xffffffffu
#define PML_INDEX_MASK        0xffffu
/* Access rights of the placeholder state (table 24-2): type, S, P, L/D, G. */
#define AR_CODE64_FLAT        0xa09bu   /* execute/read accessed code, S, P, L, G */
#define AR_DATA_FLAT          0xc093u   /* read/write accessed data, S, P, D/B, G */
#define AR_TSS64_BUSY         0x008bu
#define TSS64_LIMIT           0x67u
#define GDT_PLACEHOLDER_LIMIT 0x1fu

static uint64_t current_vmcs;          /* physical address of the current VMCS, 0 for none */
static struct vcpu *state_owner;       /* whose FPU and SYSCALL MSRs the CPU holds */

static void vmptrld(uint64_t phys)
{
	bool ok;

	__asm__ volatile("vmptrld %1; seta %0" : "=qm"(ok) : "m"(phys) : "cc", "memory");
	if (!ok)
		panic("vmptrld 0x%llx failed", (unsigned long long)phys);
	current_vmcs = phys;
}

static void vmclear(uint64_t phys)
{
	__asm__ volatile("vmclear %0" : : "m"(phys) : "cc", "memory");
	if (current_vmcs == phys)
		current_vmcs = 0;
}

void vcpu_load(struct vcpu *v)
{
	if (current_vmcs != v->vmcs_phys)
		vmptrld(v->vmcs_phys);
}

/* Bits of CR0/CR4 that Ferry owns: reads see the shadow, writes exit (25.6.6). */
static uint64_t cr0_host_owned(void)
{
	const struct vmx_controls *c = vmx_controls();
	uint64_t must_be_one = c->cr0_fixed0 & ~(CR0_PE | CR0_PG);
	uint64_t must_be_zero = ~c->cr0_fixed1 & 0xffffffffull;

	return must_be_one | must_be_zero | CR0_PG;   /* PG too: Ferry keeps IA-32e mode in step */
}

static uint64_t cr4_host_owned(void)
{
	return ~vmx_guest_cr4_allowed();
}

static uint64_t cr0_real(uint64_t visible)
{
	const struct vmx_controls *c = vmx_controls();
	return (visible | (c->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & c->cr0_fixed1;
}

static uint64_t cr4_real(uint64_t visible)
{
	const struct vmx_controls *c = vmx_controls();
	return (visible | c->cr4_fixed0) & c->cr4_fixed1;
}

static void init_exec_controls(struct vcpu *v)
{
	const struct vmx_controls *c = vmx_controls();

	vmwrite(VMCS_PIN_CONTROLS, c->pin);
	vmwrite(VMCS_PROC_CONTROLS, c->proc);
	v->proc2 = c->proc2;
	vmwrite(VMCS_PROC2_CONTROLS, v->proc2);
	vmwrite(VMCS_EXCEPTION_BITMAP, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_CR0_MASK, cr0_host_owned());
	vmwrite(VMCS_CR4_MASK, cr4_host_owned());
	if (c->vpid)
		vmwrite(VMCS_VPID, v->vpid);
	vmwrite(VMCS_EPT_POINTER, v->eptp);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
	if (v->pml_phys) {
		vmwrite(VMCS_PML_ADDRESS, v->pml_phys);
		vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
	}
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

int vcpu_init(struct vcpu *v, struct frame_owner *owner, uint16_t vpid, uint64_t ept_root,
	      uint64_t pml_phys)
{
	const struct vmx_controls *c = vmx_controls();

	memset(v, 0, sizeof(*v));
	int err = mem_alloc(owner, 1, 1, &v->vmcs_phys);
	if (err)
		return err;
	*(uint32_t *)phys_to_ptr(v->vmcs_phys) = c->revision;
	v->vpid = vpid;
	v->pml_phys = pml_phys;
	v->eptp = ept_root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4 | (c->ept_ad ? EPTP_ENABLE_AD : 0);
	v->tsc_offset = -rdtsc();   /* the guest's TSC starts at 0 */
	vmclear(v->vmcs_phys);
	vmptrld(v->vmcs_phys);
	init_exec_controls(v);
	init_exit_entry_controls(v);
	init_host_state();
	vmx_invvpid(vpid);
	vmx_invept(v->eptp);

	/* A valid flat 64-bit state until the loader or a migration supplies the real one. */
	struct guest_entry_state e = {
		.cr0 = CR0_PE | CR0_PG | CR0_NE, .cr4 = CR4_PAE, .efer = EFER_LME | EFER_LMA,
		.rflags = RFLAGS_FIXED1, .cs_access = AR_CODE64_FLAT, .ds_access = AR_DATA_FLAT,
		.tr_access = AR_TSS64_BUSY, .tr_limit = TSS64_LIMIT, .gdt_limit = GDT_PLACEHOLDER_LIMIT,
	};
	vcpu_set_entry(v, &e);
	return FERR_OK;
}

void vcpu_forget(struct vcpu *v)
{
	if (state_owner == v)
		state_owner = NULL;
}

void vcpu_release(struct vcpu *v, struct frame_owner *owner)
{
	if (!v->vmcs_phys)
		return;
	vcpu_forget(v);
	vmclear(v->vmcs_phys);
	vmx_invvpid(v->vpid);
	vmx_invept(v->eptp);
	mem_free(owner, v->vmcs_phys, 1);
	v->vmcs_phys = 0;
}

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

void vcpu_set_entry(struct vcpu *v, const struct guest_entry_state *e)
{
	struct x86_cpu_state s;

	memset(&s, 0, sizeof(s));
	s.gpr[GPR_RSP] = e->rsp;
	s.gpr[GPR_RSI] = e->rsi;
	s.rip = e->rip;
	s.rflags = e->rflags | RFLAGS_FIXED1;
	s.cr0 = e->cr0;
	s.cr3 = e->cr3;
	s.cr4 = e->cr4;
	s.dr7 = DR7_INIT;
	s.efer = e->efer;
	s.pat = PAT_POWER_ON;
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		s.seg[i].selector = GUEST_DS_SELECTOR;
		s.seg[i].limit = SEG_LIMIT_4G;
		s.seg[i].access = e->ds_access;
	}
	s.seg[SEG_CS].selector = GUEST_CS_SELECTOR;
	s.seg[SEG_CS].access = e->cs_access;
	s.seg[SEG_LDTR] = (struct x86_segment){ 0, 0, 0, AR_UNUSABLE };
	s.seg[SEG_TR] = (struct x86_segment){ GUEST_TR_SELECTOR, e->tr_base, e->tr_limit, e->tr_access };
	s.gdtr_base = e->gdt_base;
	s.gdtr_limit = e->gdt_limit;
	uint16_t fcw = FCW_INIT;
	uint32_t mxcsr = MXCSR_INIT;
	memcpy(s.fxsave + FXSAVE_FCW_OFFSET, &fcw, sizeof(fcw));
	memcpy(s.fxsave + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
	vcpu_set_state(v, &s);
}

static void save_switched_state(struct vcpu *v)
{
	__asm__ volatile("fxsave64 %0" : "=m"(v->fxsave));
	v->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);   /* SWAPGS changes it without an exit */
}

void vcpu_switch_to(struct vcpu *v)
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

void vcpu_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	if (state_owner == v)
		save_switched_state(v);
	vcpu_load(v);
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
	for (unsigned i = 0; i < 4; i++)
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
	memcpy(s->fxsave, v->fxsave, FXSAVE_BYTES);
	s->interruptibility = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	s->activity = (uint32_t)vmread(VMCS_GUEST_ACTIVITY);
	s->pending_debug = vmread(VMCS_GUEST_PENDING_DBG);
	s->pending_event = (uint32_t)vmread(VMCS_ENTRY_INTR_INFO);
	s->pending_error = (s->pending_event & INTR_INFO_DELIVER_ERROR) ?
				   (uint32_t)vmread(VMCS_ENTRY_EXCEPTION_ERR) : 0;
}

void vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	vcpu_forget(v);   /* the FPU image and MSRs below are reloaded on the next entry */
	vcpu_load(v);
	memcpy(v->gpr, s->gpr, sizeof(v->gpr));
	vmwrite(VMCS_GUEST_RSP, s->gpr[GPR_RSP]);
	vmwrite(VMCS_GUEST_RIP, s->rip);
	vmwrite(VMCS_GUEST_RFLAGS, s->rflags);
	vmwrite(VMCS_GUEST_CR0, cr0_real(s->cr0));
	vmwrite(VMCS_CR0_SHADOW, s->cr0);
	vmwrite(VMCS_GUEST_CR4, cr4_real(s->cr4));
	vmwrite(VMCS_CR4_SHADOW, s->cr4);
	vmwrite(VMCS_GUEST_CR3, s->cr3);
	v->cr2 = s->cr2;
	vmwrite(VMCS_GUEST_DR7, s->dr7);
	memcpy(v->dr, s->dr, sizeof(v->dr));
	v->dr6 = s->dr6;
	for (unsigned i = 0; i < 4; i++)
		vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, s->pdpte[i]);
	for (unsigned i = 0; i < SEG_COUNT; i++)
		set_segment(i, &s->seg[i]);
	vmwrite(VMCS_GUEST_GDTR_BASE, s->gdtr_base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, s->gdtr_limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, s->idtr_base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, s->idtr_limit);
	vmwrite(VMCS_GUEST_EFER, s->efer);
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
	memcpy(v->fxsave, s->fxsave, FXSAVE_BYTES);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, s->interruptibility);
	vmwrite(VMCS_GUEST_ACTIVITY, s->activity);
	vmwrite(VMCS_GUEST_PENDING_DBG, s->pending_debug);
	vmwrite(VMCS_ENTRY_INTR_INFO, s->pending_event);
	vmwrite(VMCS_ENTRY_EXCEPTION_ERR, s->pending_error);
	vmwrite(VMCS_ENTRY_INSTR_LEN, 0);
	if (s->efer & EFER_LMA)
		v->entry |= ENTRY_IA32E_MODE_GUEST;
	else
		v->entry &= ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, v->entry);
}

uint64_t vcpu_guest_tsc(const struct vcpu *v)
{
	return rdtsc() + v->tsc_offset;
}

void vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc)
{
	v->tsc_offset = guest_tsc - rdtsc();
	vcpu_load(v);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
}

void vcpu_set_pml(struct vcpu *v, bool on)
{
	if (!v->pml_phys)
		return;
	vcpu_load(v);
	if (on)
		v->proc2 |= PROC2_CTL_ENABLE_PML;
	else
		v->proc2 &= ~PROC2_CTL_ENABLE_PML;
	vmwrite(VMCS_PROC2_CONTROLS, v->proc2);
	vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
}

unsigned vcpu_drain_pml(struct vcpu *v, uint64_t *gpas, unsigned max)
{
	if (!v->pml_phys)
		return 0;
	vcpu_load(v);
	/* The CPU logs from entry 511 downwards; the index is the next free slot, and wraps to 0xffff when full (SDM 29.3.6). */
	unsigned index = (unsigned)(vmread(VMCS_GUEST_PML_INDEX) & PML_INDEX_MASK);
	unsigned first = index >= PML_ENTRIES ? 0 : index + 1;
	const uint64_t *log = phys_to_ptr(v->pml_phys);
	unsigned n = 0;
	for (unsigned i = first; i < PML_ENTRIES && n < max; i++)
		gpas[n++] = log[i] & EPT_ADDR_MASK;
	vmwrite(VMCS_GUEST_PML_INDEX, PML_INDEX_START);
	return n;
}
