/*
 * Control- and debug-register intercepts of the SVM backend. CR0 and CR3 are
 * the guest's own (nothing in them needs Ferry: nested paging translates, and
 * SVM forces no CR0 bit); CR4 writes exit so that a guest cannot turn on what
 * Ferry hides from it (XSAVE, PCID, VMX...: cpuid_guest_cr4_allowed()). Every
 * DR access exits: DR0-3 and DR6 are kept in software only, as on VT-x, so a
 * guest cannot set breakpoints on Ferry; DR7 lives in the VMCB.
 *
 * Which register a MOV names comes from EXITINFO1 with decode assists (APM
 * Vol. 2, 15.33.1), else from the instruction itself, fetched through the guest's
 * page tables (arch/x86/guest_walk.h: long mode, or paging off; a guest in legacy
 * paging gets #UD for these moves, since Ferry's loaders start every guest in long
 * mode) and decoded by insn.h.
 */
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/guest_walk.h"
#include "arch/x86/svm/insn.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"

#include <string.h>

#define CR_WRITE_CR4        4
#define DECODE_INFO_MOV     (1ull << 63)   /* EXITINFO1 of a CR intercept: a MOV, not LMSW/CLTS */
#define DECODE_INFO_GPR     0xfull
#define LOW32               0xffffffffull
#define CPL_USER            3

/* 64-bit mode: long mode active and CS a 64-bit code segment. */
static bool mode64(const struct vcpu *v)
{
	const struct vmcb_save *s = &v->vmcb->save;

	return (s->efer & EFER_LMA) && (svm_access_from_attrib(s->cs.attrib) & AR_L);
}

/* Guest RAM for the page walker: GPA [0, ram_bytes), anything else refused. */
static int read_guest_ram(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	const struct vcpu *v = ctx;

	if (gpa > v->ram_bytes || v->ram_bytes - gpa < len)
		return FERR_RANGE;
	memcpy(buf, phys_to_ptr(v->ram_phys + gpa), len);
	return FERR_OK;
}

unsigned svm_fetch_at_rip(const struct vcpu *v, uint8_t *bytes, unsigned max)
{
	const struct vmcb_save *s = &v->vmcb->save;
	struct guest_paging p = {
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.maxphyaddr = svm_host()->phys_bits,
		.gb_pages = v->cpuid->ext1_edx & CPUID_EXT1_EDX_PAGE1GB,
		.user = s->cpl == CPL_USER,
	};
	uint64_t linear = mode64(v) ? s->rip : (s->cs.base + s->rip) & LOW32;
	struct guest_walk_fault fault;
	const char *why;
	int got = guest_fetch(&p, linear, bytes, max, read_guest_ram, (void *)v, &fault, &why);

	return got > 0 ? (unsigned)got : 0;
}

/* The GPR a MOV to or from CRn/DRn names and where it ends; false when the bytes are not that MOV. */
static bool decode_mov(const struct vcpu *v, uint8_t opcode, bool is_cr, unsigned *gpr, uint64_t *next)
{
	const struct vmcb_control *c = &v->vmcb->control;
	const struct svm_features *f = &svm_host()->features;

	if (f->decode_assists && f->nrips && c->next_rip && (!is_cr || (c->exit_info1 & DECODE_INFO_MOV))) {
		*gpr = (unsigned)(c->exit_info1 & DECODE_INFO_GPR);
		*next = c->next_rip;
		return true;
	}
	uint8_t bytes[INSN_MAX_BYTES];
	unsigned n = svm_fetch_at_rip(v, bytes, sizeof(bytes));
	struct insn_mov_crdr mov;
	if (insn_decode_mov_crdr(bytes, n, mode64(v), opcode, &mov))
		return false;
	*gpr = mov.gpr;
	*next = v->vmcb->save.rip + mov.length;
	return true;
}

/* A GPR as a MOV operand: 64 bits in 64-bit mode, else the low 32. */
static uint64_t operand(const struct vcpu *v, unsigned gpr)
{
	uint64_t value = svm_gpr_read(v, gpr);

	return mode64(v) ? value : value & LOW32;
}

static enum svm_exit_action fault(struct vcpu *v, unsigned vector)
{
	svm_inject_exception(v, vector, vector == VECTOR_GP, 0);
	return SVM_RESUME;
}

enum svm_exit_action svm_on_cr_write(struct vcpu *v, unsigned cr, struct vcpu_exit *exit)
{
	struct vmcb_save *s = &v->vmcb->save;
	unsigned gpr;
	uint64_t next;

	if (cr != CR_WRITE_CR4)
		return svm_stop(v, exit, "unexpected CR%u write intercept", cr);
	if (!decode_mov(v, OPCODE_MOV_TO_CR, true, &gpr, &next))
		return fault(v, VECTOR_UD);
	uint64_t value = operand(v, gpr);
	if (value & ~cpuid_guest_cr4_allowed())
		return fault(v, VECTOR_GP);
	if ((s->efer & EFER_LMA) && !(value & CR4_PAE))
		return fault(v, VECTOR_GP);   /* long mode cannot leave PAE (SDM Vol. 3A 4.1.2) */
	s->cr4 = value;
	svm_vcpu_flush_tlb(v);   /* PGE, PAE and PSE changes flush the TLB */
	svm_set_rip(v, next);
	return SVM_RESUME;
}

enum svm_exit_action svm_on_dr_access(struct vcpu *v, unsigned dr, bool write, struct vcpu_exit *exit)
{
	struct vmcb_save *s = &v->vmcb->save;
	uint64_t *slot = dr < 4 ? &v->dr[dr] : dr == 6 ? &v->dr6 : dr == 7 ? &s->dr7 : NULL;
	unsigned gpr;
	uint64_t next;

	(void)exit;
	if (!slot)
		return fault(v, VECTOR_UD);   /* DR4/DR5 (aliases with CR4.DE clear): kept simple, as on VT-x */
	if (!decode_mov(v, write ? OPCODE_MOV_TO_DR : OPCODE_MOV_FROM_DR, false, &gpr, &next))
		return fault(v, VECTOR_UD);
	if (write) {
		uint64_t value = operand(v, gpr);
		if (dr >= 6 && value >> 32)
			return fault(v, VECTOR_GP);
		*slot = value;
	} else {
		svm_gpr_write(v, gpr, *slot);
	}
	svm_set_rip(v, next);
	return SVM_RESUME;
}
