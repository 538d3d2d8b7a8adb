/*
 * One SVM guest CPU: creation by area (the VMCB's intercepts and controls, the
 * nested page tables), its state in and out of the VMCB as struct
 * x86_cpu_state, its TSC, the FPU switch, and dirty tracking over the NPT.
 * See svm_vcpu.h; fields: AMD64 APM Vol. 2, appendix B and 15.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/x86.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/host.h"
#include "kernel/lib/units.h"
#include "kernel/memory.h"

#include <string.h>

#define VCPU_FRAMES      ((sizeof(struct vcpu) + PAGE_SIZE - 1) / PAGE_SIZE)
#define DR6_INIT         0xffff0ff0ull   /* DR6 after reset (SDM Vol. 3B 17.2.3) */
#define DR_INTERCEPTS    0x00ffu         /* DR0-DR7 read and written: DR0-3 and DR6 are emulated */
#define CR_INTERCEPT(n)  (1u << (n))
#define GUEST_CR4        4

static struct vcpu *fpu_owner;   /* whose FXSAVE image the CPU holds */

/* ---- creation ------------------------------------------------------------------------ */

static void init_control(struct vcpu *v, unsigned slot)
{
	const struct svm_host *h = svm_host();
	struct vmcb_control *c = &v->vmcb->control;

	/* CR4 writes are checked against what the guest may use; CR0 and CR3 are the guest's own. */
	c->intercept_cr_write = CR_INTERCEPT(GUEST_CR4);
	c->intercept_dr_read = DR_INTERCEPTS;
	c->intercept_dr_write = DR_INTERCEPTS;
	c->intercept_exceptions = X86_BIT32(VECTOR_MC);   /* a machine check is the host's (spec.c) */
	c->intercept_misc1 = SVM_INTERCEPT1_INTR | SVM_INTERCEPT1_NMI | SVM_INTERCEPT1_SMI |
			     SVM_INTERCEPT1_INIT | SVM_INTERCEPT1_RDPMC | SVM_INTERCEPT1_CPUID |
			     SVM_INTERCEPT1_INVD | SVM_INTERCEPT1_HLT | SVM_INTERCEPT1_INVLPGA |
			     SVM_INTERCEPT1_IOIO_PROT | SVM_INTERCEPT1_MSR_PROT | SVM_INTERCEPT1_SHUTDOWN;
	/* SVM itself is hidden from guests: its instructions are #UD (VMRUN's intercept is also mandatory). */
	c->intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL | SVM_INTERCEPT2_VMLOAD |
			     SVM_INTERCEPT2_VMSAVE | SVM_INTERCEPT2_STGI | SVM_INTERCEPT2_CLGI |
			     SVM_INTERCEPT2_SKINIT | SVM_INTERCEPT2_RDTSCP | SVM_INTERCEPT2_MONITOR |
			     SVM_INTERCEPT2_MWAIT | SVM_INTERCEPT2_MWAIT_ARMED | SVM_INTERCEPT2_XSETBV |
			     SVM_INTERCEPT2_WBINVD;   /* skipped, not run (spec.c) */
	c->iopm_base_pa = h->iopm_phys;
	c->msrpm_base_pa = h->msrpm_phys;
	c->tsc_offset = -rdtsc();   /* the guest's TSC starts at 0 */
	c->guest_asid = svm_asid_for_slot(slot);
	c->int_ctl = SVM_INT_CTL_V_INTR_MASKING;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = npt_root(&v->npt);
	c->clean_bits = 0;   /* nothing cached: every VMRUN reads the whole VMCB */
	v->tlb_control = svm_tlb_flush_command();   /* whatever an earlier guest left under this ASID */
}

static void free_run(struct vcpu *v, uint64_t *phys, uint64_t frames)
{
	if (*phys)
		mem_free(v->owner, *phys, frames);
	*phys = 0;
}

int svm_vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why)
{
	uint64_t vcpu_phys;

	if (mem_alloc(cfg->owner, VCPU_FRAMES, 1, &vcpu_phys)) {
		*why = "not enough free memory for the guest";
		return FERR_NOMEM;
	}
	struct vcpu *v = phys_to_ptr(vcpu_phys);
	v->name = cfg->name;
	v->owner = cfg->owner;
	v->cpuid = cfg->cpuid;
	v->ram_phys = cfg->ram_phys;
	v->ram_bytes = cfg->ram_bytes;
	v->npt_frames = npt_tables_needed(cfg->ram_bytes);
	int err = mem_alloc(v->owner, 1, 1, &v->vmcb_phys);
	if (!err)
		err = mem_alloc(v->owner, v->npt_frames, 1, &v->npt_phys);
	if (!err)
		err = npt_build(&v->npt, phys_to_ptr(v->npt_phys), v->npt_phys, v->npt_frames,
				cfg->ram_phys, cfg->ram_bytes);
	if (err) {
		*why = err == FERR_NOMEM ? "not enough free memory for the guest" : "NPT set-up failed";
		svm_vcpu_destroy(v);
		return err;
	}
	npt_use_large_pages(&v->npt, true);
	v->vmcb = phys_to_ptr(v->vmcb_phys);
	/* ferry.cfg picks the tracking: the NPT dirty bits, or write protection (docs/svm.md). */
	v->dirty_mode = host_config()->svm_dirty_write_protect ? SVM_DIRTY_WP : SVM_DIRTY_AD;
	init_control(v, cfg->slot);
	struct x86_cpu_state placeholder;
	x86_cpu_state_flat64(&placeholder);
	svm_vcpu_set_state(v, &placeholder);
	*out = v;
	return FERR_OK;
}

static void forget_fpu(struct vcpu *v)
{
	if (fpu_owner == v)
		fpu_owner = NULL;
}

void svm_vcpu_destroy(struct vcpu *v)
{
	forget_fpu(v);
	free_run(v, &v->wp_log_phys, v->wp_log_frames);
	free_run(v, &v->npt_phys, v->npt_frames);
	free_run(v, &v->vmcb_phys, 1);
	mem_free(v->owner, ptr_to_phys(v), VCPU_FRAMES);
}

uint64_t svm_vcpu_table_frames(struct vcpu *v)
{
	return v->npt_frames;
}

void svm_vcpu_flush_tlb(struct vcpu *v)
{
	v->tlb_control = svm_tlb_flush_command();
}

/* ---- the FPU: Ferry itself uses none, so the last guest's image stays loaded ---------- */

void svm_vcpu_load_fpu(struct vcpu *v)
{
	if (fpu_owner == v)
		return;
	if (fpu_owner)
		__asm__ volatile("fxsave64 %0" : "=m"(fpu_owner->fxsave));
	__asm__ volatile("fxrstor64 %0" : : "m"(v->fxsave));
	fpu_owner = v;
}

/* ---- state ------------------------------------------------------------------------------ */

static void segment_to_vmcb(struct vmcb_segment *out, const struct x86_segment *s)
{
	out->selector = s->selector;
	out->attrib = svm_attrib_from_access(s->access);
	out->limit = s->limit;
	out->base = s->base;
}

static void segment_from_vmcb(struct x86_segment *out, const struct vmcb_segment *s)
{
	out->selector = s->selector;
	out->access = svm_access_from_attrib(s->attrib);
	out->limit = s->limit;
	out->base = s->base;
}

/* The VMCB's segment registers in enum x86_seg order. */
static struct vmcb_segment *vmcb_segment(struct vmcb_save *save, unsigned seg)
{
	struct vmcb_segment *const order[SEG_COUNT] = {
		[SEG_ES] = &save->es, [SEG_CS] = &save->cs, [SEG_SS] = &save->ss, [SEG_DS] = &save->ds,
		[SEG_FS] = &save->fs, [SEG_GS] = &save->gs, [SEG_LDTR] = &save->ldtr, [SEG_TR] = &save->tr,
	};
	return order[seg];
}

void svm_vcpu_get_state(struct vcpu *v, struct x86_cpu_state *s)
{
	const struct vmcb_save *save = &v->vmcb->save;
	const struct vmcb_control *c = &v->vmcb->control;

	memset(s, 0, sizeof(*s));
	if (fpu_owner == v)
		__asm__ volatile("fxsave64 %0" : "=m"(v->fxsave));
	for (unsigned i = 0; i < GPR_COUNT; i++)
		s->gpr[i] = svm_gpr_read(v, i);
	s->rip = save->rip;
	s->rflags = save->rflags;
	s->cr0 = save->cr0;
	s->cr3 = save->cr3;
	s->cr4 = save->cr4;
	s->cr2 = save->cr2;
	s->dr7 = save->dr7;
	memcpy(s->dr, v->dr, sizeof(s->dr));
	s->dr6 = v->dr6;
	for (unsigned i = 0; i < SEG_COUNT; i++)
		segment_from_vmcb(&s->seg[i], vmcb_segment(&v->vmcb->save, i));
	s->gdtr_base = save->gdtr.base;
	s->gdtr_limit = save->gdtr.limit;
	s->idtr_base = save->idtr.base;
	s->idtr_limit = save->idtr.limit;
	s->efer = svm_guest_efer(v);
	s->pat = save->g_pat;
	s->debugctl = save->dbgctl;
	s->sysenter_cs = save->sysenter_cs;
	s->sysenter_esp = save->sysenter_esp;
	s->sysenter_eip = save->sysenter_eip;
	s->star = save->star;
	s->lstar = save->lstar;
	s->cstar = save->cstar;
	s->sfmask = save->sfmask;
	s->kernel_gs_base = save->kernel_gs_base;
	s->spec_ctrl = v->spec.spec_ctrl;
	memcpy(s->fxsave, v->fxsave, FXSAVE_BYTES);
	s->interruptibility = svm_interruptibility_from_int_state(c->int_state, save->rflags);
	s->activity = ACTIVITY_ACTIVE;   /* HLT exits at once: a guest is never halted inside the CPU */
	/* An event injected but not yet delivered (the guest paused right after the exit). */
	s->pending_event = svm_intr_info_from_event(c->event_inj, c->event_inj_error, &s->pending_error);
}

void svm_vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s)
{
	struct vmcb_save *save = &v->vmcb->save;
	struct vmcb_control *c = &v->vmcb->control;

	forget_fpu(v);   /* the FXSAVE image below is loaded on the next entry */
	for (unsigned i = 0; i < GPR_COUNT; i++)
		svm_gpr_write(v, i, s->gpr[i]);
	save->rip = s->rip;
	save->rflags = s->rflags;
	save->cr0 = s->cr0;
	save->cr3 = s->cr3;
	save->cr4 = s->cr4;
	save->cr2 = s->cr2;
	save->dr7 = s->dr7;
	save->dr6 = DR6_INIT;
	memcpy(v->dr, s->dr, sizeof(v->dr));
	v->dr6 = s->dr6;
	for (unsigned i = 0; i < SEG_COUNT; i++)
		segment_to_vmcb(vmcb_segment(save, i), &s->seg[i]);
	save->cpl = (uint8_t)AR_DPL(s->seg[SEG_SS].access);   /* the CPL is SS.DPL (SDM 26.3.1.2) */
	save->gdtr.base = s->gdtr_base;
	save->gdtr.limit = s->gdtr_limit;
	save->idtr.base = s->idtr_base;
	save->idtr.limit = s->idtr_limit;
	svm_set_guest_efer(v, s->efer);
	save->g_pat = s->pat;
	save->dbgctl = s->debugctl;
	save->sysenter_cs = s->sysenter_cs;
	save->sysenter_esp = s->sysenter_esp;
	save->sysenter_eip = s->sysenter_eip;
	save->star = s->star;
	save->lstar = s->lstar;
	save->cstar = s->cstar;
	save->sfmask = s->sfmask;
	save->kernel_gs_base = s->kernel_gs_base;
	v->spec.spec_ctrl = s->spec_ctrl;
	memcpy(v->fxsave, s->fxsave, FXSAVE_BYTES);
	c->int_state = svm_int_state_from_interruptibility(s->interruptibility);
	/* VMX-only parts: the activity state (SVM has no HLT state), pending debug exceptions, PDPTEs. */
	c->event_inj = svm_event_from_intr_info(s->pending_event, s->pending_error, &c->event_inj_error);
	svm_vcpu_flush_tlb(v);
}

uint64_t svm_guest_efer(const struct vcpu *v)
{
	return v->vmcb->save.efer & ~EFER_SVME;
}

void svm_set_guest_efer(struct vcpu *v, uint64_t efer)
{
	bool long_mode = (efer & EFER_LME) && (v->vmcb->save.cr0 & CR0_PG);

	efer = long_mode ? efer | EFER_LMA : efer & ~EFER_LMA;
	v->vmcb->save.efer = efer | EFER_SVME;   /* VMRUN refuses a guest without it (15.5.1) */
}

uint64_t svm_vcpu_guest_tsc(struct vcpu *v)
{
	return rdtsc() + v->vmcb->control.tsc_offset;
}

void svm_vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc)
{
	v->vmcb->control.tsc_offset = guest_tsc - rdtsc();
}

/* ---- dirty tracking ------------------------------------------------------------------------ */

const char *svm_vcpu_dirty_mode(struct vcpu *v)
{
	return v->dirty_mode == SVM_DIRTY_WP ? "npt-wp" : "npt-ad";
}

int svm_vcpu_dirty_start(struct vcpu *v)
{
	if (v->dirty_mode == SVM_DIRTY_WP) {
		if (!v->wp_log_phys) {
			v->wp_log_frames = (bitmap_words(v->npt.pages) * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
			int err = mem_alloc(v->owner, v->wp_log_frames, 1, &v->wp_log_phys);
			if (err)
				return err;
		}
		npt_wp_start(&v->npt, phys_to_ptr(v->wp_log_phys));
	} else {
		/* A write must mark one page, not the 512 of a large leaf. */
		npt_use_large_pages(&v->npt, false);
		npt_clear_dirty(&v->npt);
	}
	v->dirty_logging = true;
	svm_vcpu_flush_tlb(v);
	return FERR_OK;
}

long svm_vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap)
{
	if (!v->dirty_logging)
		return FERR_BUSY;
	uint64_t newly = v->dirty_mode == SVM_DIRTY_WP ? npt_wp_collect(&v->npt, bitmap)
						       : npt_collect_dirty(&v->npt, bitmap);
	/* Cleared D bits and removed write permissions must not survive in the TLB. */
	svm_vcpu_flush_tlb(v);
	return (long)newly;
}

void svm_vcpu_dirty_stop(struct vcpu *v)
{
	if (!v->dirty_logging)
		return;
	if (v->dirty_mode == SVM_DIRTY_WP) {
		npt_wp_stop(&v->npt);
		free_run(v, &v->wp_log_phys, v->wp_log_frames);
	}
	npt_use_large_pages(&v->npt, true);
	v->dirty_logging = false;
	svm_vcpu_flush_tlb(v);
}
