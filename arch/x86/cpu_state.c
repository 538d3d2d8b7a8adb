/*
 * The guest-state checks of SDM Vol. 3C 26.3.1 over struct x86_cpu_state, and the
 * small format helpers they share with the backends; see cpu_state.h.
 */
#include "arch/x86/cpu_state.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define PAT_TYPE_BITS      8
#define PAT_TYPE_MASK      0xffu
#define PAT_TYPE_RESERVED2 2u   /* types 2 and 3 are reserved (SDM Vol. 3A 11.12.2, table 11-10) */
#define PAT_TYPE_RESERVED3 3u
#define PAT_TYPE_MAX       7u
#define SEG_LIMIT_PAGE_BITS 0xfffu       /* a limit with G set ends in 12 ones */
#define SEG_LIMIT_BYTE_MAX  0x000fffffu  /* the largest limit with G clear */
#define DESCRIPTOR_TABLE_LIMIT_MAX 0xffffu
#define SS_TYPE_RW_ACCESSED      SEG_TYPE_DATA_RW_ACCESSED
#define SS_TYPE_RW_ACCESSED_DOWN 7u      /* read/write, expand-down, accessed */

#define FLAT64_CS_SELECTOR 0x08
#define FLAT64_DS_SELECTOR 0x10
#define FLAT64_TR_SELECTOR 0x18
#define FLAT64_GDT_LIMIT   0x1f   /* four 8-byte slots */

void x86_cpu_state_flat64(struct x86_cpu_state *s)
{
	uint16_t fcw = FCW_INIT;
	uint32_t mxcsr = MXCSR_INIT;

	memset(s, 0, sizeof(*s));
	s->rflags = RFLAGS_FIXED1;
	s->cr0 = CR0_PE | CR0_NE | CR0_PG;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
	s->dr7 = DR7_INIT;
	s->pat = PAT_POWER_ON;
	for (unsigned i = 0; i < SEG_COUNT; i++)
		s->seg[i] = (struct x86_segment){ FLAT64_DS_SELECTOR, 0, SEG_LIMIT_4G, X86_DATA_ACCESS };
	s->seg[SEG_CS].selector = FLAT64_CS_SELECTOR;
	s->seg[SEG_CS].access = X86_CODE64_ACCESS;
	s->seg[SEG_LDTR] = (struct x86_segment){ 0, 0, 0, AR_UNUSABLE };
	s->seg[SEG_TR] = (struct x86_segment){ FLAT64_TR_SELECTOR, 0, TSS64_BYTES - 1, X86_TSS64_ACCESS };
	s->gdtr_limit = FLAT64_GDT_LIMIT;
	memcpy(s->fxsave + FXSAVE_FCW_OFFSET, &fcw, sizeof(fcw));
	memcpy(s->fxsave + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}

void x86_entry_cpu_state(const struct x86_entry_state *e, struct x86_cpu_state *s)
{
	x86_cpu_state_flat64(s);
	s->gpr[GPR_RSP] = e->rsp;
	s->gpr[GPR_RSI] = e->rsi;
	s->rip = e->rip;
	s->rflags = e->rflags | RFLAGS_FIXED1;
	s->cr0 = e->cr0;
	s->cr3 = e->cr3;
	s->cr4 = e->cr4;
	s->efer = e->efer;
	for (unsigned i = 0; i < SEG_COUNT; i++)
		s->seg[i] = (struct x86_segment){ e->ds_selector, 0, SEG_LIMIT_4G, e->ds_access };
	s->seg[SEG_CS].selector = e->cs_selector;
	s->seg[SEG_CS].access = e->cs_access;
	s->seg[SEG_LDTR] = (struct x86_segment){ 0, 0, 0, AR_UNUSABLE };
	s->seg[SEG_TR] = (struct x86_segment){ e->tr_selector, e->tr_base, e->tr_limit, e->tr_access };
	s->gdtr_base = e->gdt_base;
	s->gdtr_limit = e->gdt_limit;
}

bool x86_canonical(uint64_t addr)
{
	int64_t sign_extended = (int64_t)(addr << (64 - CANONICAL_BITS)) >> (64 - CANONICAL_BITS);
	return (uint64_t)sign_extended == addr;
}

bool x86_pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < PAT_ENTRIES; i++) {
		unsigned type = (pat >> (PAT_TYPE_BITS * i)) & PAT_TYPE_MASK;
		if (type == PAT_TYPE_RESERVED2 || type == PAT_TYPE_RESERVED3 || type > PAT_TYPE_MAX)
			return false;
	}
	return true;
}

uint32_t x86_mxcsr(const struct x86_cpu_state *s)
{
	uint32_t mxcsr;

	memcpy(&mxcsr, s->fxsave + FXSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	return mxcsr;
}

/* Limit and granularity agree (26.3.1.2): G clear means limit < 1 MiB; G set means limit[11:0] all ones. */
static bool limit_matches_granularity(const struct x86_segment *seg)
{
	if ((seg->limit & SEG_LIMIT_PAGE_BITS) != SEG_LIMIT_PAGE_BITS && (seg->access & AR_G))
		return false;
	if ((seg->limit & ~SEG_LIMIT_BYTE_MAX) && !(seg->access & AR_G))
		return false;
	return true;
}

#define FAIL(msg) do { *why = (msg); return FERR_INVAL; } while (0)

static int validate_control(const struct x86_cpu_state *c, const struct x86_state_limits *lim,
			    bool *long_mode, const char **why)
{
	uint64_t cr0_real = c->cr0 | (lim->cr0_fixed0 & ~lim->cr0_guest_owned_ok);
	uint64_t cr4_real = c->cr4 | lim->cr4_fixed0;
	const uint64_t efer_known = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;

	if (c->cr0 >> 32)
		FAIL("CR0 sets reserved bits 63:32");
	if (cr0_real & ~lim->cr0_fixed1)
		FAIL("CR0 sets bits VMX requires clear");
	if ((c->cr0 & CR0_PG) && !(c->cr0 & CR0_PE))
		FAIL("CR0.PG set without CR0.PE");
	if ((c->cr0 & CR0_NW) && !(c->cr0 & CR0_CD))
		FAIL("CR0.NW set without CR0.CD");
	if (c->cr4 & ~lim->cr4_allowed)
		FAIL("CR4 sets bits this guest may not use");
	if (cr4_real & ~lim->cr4_fixed1)
		FAIL("CR4 sets bits VMX requires clear");
	if (lim->phys_bits < 64 && c->cr3 >> lim->phys_bits)
		FAIL("CR3 sets bits beyond the physical-address width");
	if (c->dr7 >> 32 || c->dr6 >> 32)
		FAIL("DR6/DR7 set reserved bits 63:32");
	if ((c->rflags & RFLAGS_RESERVED) || !(c->rflags & RFLAGS_FIXED1))
		FAIL("RFLAGS reserved bits are wrong");

	if (c->efer & ~efer_known)
		FAIL("EFER sets bits Ferry does not support");
	bool lma = c->efer & EFER_LMA;
	if (lma != ((c->efer & EFER_LME) && (c->cr0 & CR0_PG)))
		FAIL("EFER.LMA disagrees with EFER.LME and CR0.PG");
	if (lma && !(c->cr4 & CR4_PAE))
		FAIL("long mode without CR4.PAE");
	if (!lma && (c->cr4 & CR4_PCIDE))
		FAIL("CR4.PCIDE set outside long mode");
	if (lma && (c->rflags & RFLAGS_VM))
		FAIL("RFLAGS.VM set in long mode");
	bool pae_paging = (c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !lma;
	for (unsigned i = 0; pae_paging && i < 4; i++) {
		uint64_t e = c->pdpte[i];
		if ((e & PTE_PRESENT) && ((e & PDPTE_RESERVED) || (lim->phys_bits < 64 && e >> lim->phys_bits)))
			FAIL("a PDPTE sets reserved bits");
	}
	if (!x86_pat_valid(c->pat))
		FAIL("IA32_PAT holds a reserved memory type");
	if (c->debugctl)
		FAIL("IA32_DEBUGCTL must be 0 (Ferry does not offer debug features)");
	if (!x86_canonical(c->sysenter_esp) || !x86_canonical(c->sysenter_eip))
		FAIL("SYSENTER_ESP/EIP not canonical");
	if (c->sysenter_cs >> 32)
		FAIL("SYSENTER_CS sets reserved bits");
	if (!x86_canonical(c->lstar) || !x86_canonical(c->cstar) || !x86_canonical(c->kernel_gs_base))
		FAIL("LSTAR/CSTAR/KERNEL_GS_BASE not canonical");
	if (c->sfmask >> 32)
		FAIL("SFMASK sets reserved bits 63:32");
	*long_mode = lma;
	return FERR_OK;
}

static int validate_segments(const struct x86_cpu_state *c, bool long_mode, bool unrestricted,
			     const char **why)
{
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		const struct x86_segment *seg = &c->seg[i];
		bool usable = !(seg->access & AR_UNUSABLE);
		if (seg->access & AR_RESERVED)
			FAIL("segment access rights set reserved bits");
		if (!usable)
			continue;
		if (!(seg->access & AR_P))
			FAIL("a usable segment is not present");
		if (!limit_matches_granularity(seg))
			FAIL("segment limit disagrees with its granularity bit");
		if (i == SEG_FS || i == SEG_GS || i == SEG_LDTR || i == SEG_TR) {
			if (!x86_canonical(seg->base))
				FAIL("FS/GS/LDTR/TR base not canonical");
		} else if (seg->base >> 32) {
			FAIL("CS/SS/DS/ES base sets bits 63:32");
		}
	}

	const struct x86_segment *cs = &c->seg[SEG_CS];
	const struct x86_segment *ss = &c->seg[SEG_SS];
	const struct x86_segment *tr = &c->seg[SEG_TR];
	const struct x86_segment *ldtr = &c->seg[SEG_LDTR];
	if (cs->access & AR_UNUSABLE)
		FAIL("CS is unusable");
	unsigned cs_type = AR_TYPE(cs->access);
	bool cs_ok = (cs_type & SEG_TYPE_CODE) && (cs_type & SEG_TYPE_ACCESSED);
	if (unrestricted && cs_type == SEG_TYPE_DATA_RW_ACCESSED)
		cs_ok = true;   /* a read/write accessed data segment, as after real mode */
	if (!cs_ok || !(cs->access & AR_S))
		FAIL("CS type is not an accessed code segment");
	if (long_mode && (cs->access & AR_L) && (cs->access & AR_DB))
		FAIL("CS sets both L and D/B");
	if (!(ss->access & AR_UNUSABLE)) {
		unsigned t = AR_TYPE(ss->access);
		if ((t != SS_TYPE_RW_ACCESSED && t != SS_TYPE_RW_ACCESSED_DOWN) || !(ss->access & AR_S))
			FAIL("SS is not a writable accessed data segment");
		if (!unrestricted && AR_DPL(ss->access) != SELECTOR_RPL(ss->selector))
			FAIL("SS.DPL differs from its RPL");
	}
	for (unsigned i = SEG_ES; i <= SEG_GS; i++) {
		if (i == SEG_CS || i == SEG_SS || (c->seg[i].access & AR_UNUSABLE))
			continue;
		unsigned t = AR_TYPE(c->seg[i].access);
		if (!(t & SEG_TYPE_ACCESSED) || !(c->seg[i].access & AR_S))
			FAIL("a data segment is not accessed or not code/data");
		if ((t & SEG_TYPE_CODE) && !(t & SEG_TYPE_WRITABLE))
			FAIL("a data segment register holds an unreadable code segment");
	}
	if (tr->access & AR_UNUSABLE)
		FAIL("TR is unusable");
	if (tr->selector & SELECTOR_TI)
		FAIL("TR selector points into the LDT");
	unsigned tr_type = AR_TYPE(tr->access);
	bool tr_type_ok = long_mode ? tr_type == SYS_TYPE_TSS64_BUSY
				    : (tr_type == SYS_TYPE_TSS16_BUSY || tr_type == SYS_TYPE_TSS64_BUSY);
	if ((tr->access & AR_S) || !tr_type_ok)
		FAIL("TR is not a busy TSS");
	if (!(ldtr->access & AR_UNUSABLE)) {
		if ((ldtr->access & AR_S) || AR_TYPE(ldtr->access) != SYS_TYPE_LDT || (ldtr->selector & SELECTOR_TI))
			FAIL("LDTR is not an LDT");
	}
	if (!x86_canonical(c->gdtr_base) || !x86_canonical(c->idtr_base))
		FAIL("GDTR/IDTR base not canonical");
	if (c->gdtr_limit > DESCRIPTOR_TABLE_LIMIT_MAX || c->idtr_limit > DESCRIPTOR_TABLE_LIMIT_MAX)
		FAIL("GDTR/IDTR limit above 0xffff");
	bool code64 = cs->access & AR_L;
	if (code64 && !long_mode)
		FAIL("CS.L set outside long mode");
	if (code64 ? !x86_canonical(c->rip) : (c->rip >> 32) != 0)
		FAIL("RIP not canonical (or above 4 GiB outside 64-bit code)");
	return FERR_OK;
}

static int validate_events(const struct x86_cpu_state *c, const char **why)
{
	if (c->interruptibility & ~INTERRUPTIBILITY_KNOWN)
		FAIL("interruptibility state sets reserved bits");
	if ((c->interruptibility & INTERRUPTIBILITY_STI) && (c->interruptibility & INTERRUPTIBILITY_MOV_SS))
		FAIL("blocking by STI and by MOV SS both set");
	if (c->activity != ACTIVITY_ACTIVE && c->activity != ACTIVITY_HLT)
		FAIL("activity state not active or HLT");
	if (c->pending_debug & ~(uint64_t)PENDING_DEBUG_KNOWN)
		FAIL("pending debug exceptions set reserved bits");
	uint32_t e = c->pending_event;
	if (!(e & INTR_INFO_VALID)) {
		if (e || c->pending_error)
			FAIL("an invalid pending event carries data");
		return FERR_OK;
	}
	if (e & INTR_INFO_RESERVED)
		FAIL("pending event sets reserved bits");
	unsigned type = INTR_INFO_TYPE(e), vector = INTR_INFO_VECTOR(e);
	switch (type) {
	case INTR_TYPE_EXTERNAL:
		break;
	case INTR_TYPE_NMI:
		if (vector != VECTOR_NMI)
			FAIL("pending NMI with a vector other than 2");
		break;
	case INTR_TYPE_HW_EXCEPTION:
		if (vector >= VECTOR_EXCEPTIONS)
			FAIL("pending hardware exception with a vector above 31");
		break;
	default:   /* software events are re-executed, never carried (docs/vmx.md) */
		FAIL("pending event of a type Ferry does not carry");
	}
	bool wants_error = type == INTR_TYPE_HW_EXCEPTION && vector < VECTOR_EXCEPTIONS &&
			   (VECTORS_WITH_ERROR_CODE & (1u << vector));
	if (!!(e & INTR_INFO_DELIVER_ERROR) != wants_error)
		FAIL("pending event's error-code flag disagrees with its vector");
	if (!wants_error && c->pending_error)
		FAIL("pending event carries an error code it does not deliver");
	return FERR_OK;
}

int x86_cpu_state_validate(const struct x86_cpu_state *s, const struct x86_state_limits *lim,
			   const char **why)
{
	bool long_mode = false;
	int err = validate_control(s, lim, &long_mode, why);
	if (err)
		return err;
	err = validate_segments(s, long_mode, lim->cr0_guest_owned_ok != 0, why);
	if (err)
		return err;
	err = validate_events(s, why);
	if (err)
		return err;
	if (x86_mxcsr(s) & ~(lim->mxcsr_mask & MXCSR_BITS))
		FAIL("MXCSR sets bits this CPU does not support");
	return FERR_OK;
}
