/*
 * The guest-state codec and its validation; see vm_state.h. Each section has
 * one function that both encodes and decodes it (the codec carries the
 * direction), so the two paths cannot drift apart.
 */
#include "kernel/vm/snapshot.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define HEADER_BYTES 8
#define SECTION_HEADER_BYTES 12

struct codec {
	uint8_t *buf;       /* encode: output; decode: input (not written) */
	size_t len, pos;
	bool decode;
	bool short_input;   /* decode ran past the payload, or encode past the buffer */
};

static void field_bytes(struct codec *c, void *v, size_t n)
{
	if (c->pos + n > c->len || c->pos + n < c->pos) {
		c->short_input = true;
		return;
	}
	if (c->decode)
		memcpy(v, c->buf + c->pos, n);
	else
		memcpy(c->buf + c->pos, v, n);
	c->pos += n;
}

static void field_uint(struct codec *c, void *v, size_t n)
{
	/* Little-endian on the wire; both ends are x86, whose memory order this is. */
	field_bytes(c, v, n);
}

#define F64(c, x) do { uint64_t *p_ = &(x); field_uint(c, p_, 8); } while (0)
#define F32(c, x) do { uint32_t *p_ = &(x); field_uint(c, p_, 4); } while (0)
#define F16(c, x) do { uint16_t *p_ = &(x); field_uint(c, p_, 2); } while (0)
#define F8(c, x)  do { uint8_t *p_ = &(x); field_uint(c, p_, 1); } while (0)

static void section_regs(struct codec *c, struct vm_saved_state *s)
{
	struct vm_cpu_state *cpu = &s->cpu;

	for (unsigned i = 0; i < GPR_COUNT; i++)
		F64(c, cpu->gpr[i]);
	F64(c, cpu->rip);
	F64(c, cpu->rflags);
	F64(c, cpu->cr0);
	F64(c, cpu->cr3);
	F64(c, cpu->cr4);
	F64(c, cpu->cr2);
	F64(c, cpu->dr7);
	for (unsigned i = 0; i < 4; i++)
		F64(c, cpu->dr[i]);
	F64(c, cpu->dr6);
	for (unsigned i = 0; i < 4; i++)
		F64(c, cpu->pdpte[i]);
}

static void section_segments(struct codec *c, struct vm_saved_state *s)
{
	struct vm_cpu_state *cpu = &s->cpu;

	for (unsigned i = 0; i < SEG_COUNT; i++) {
		F16(c, cpu->seg[i].selector);
		F64(c, cpu->seg[i].base);
		F32(c, cpu->seg[i].limit);
		F32(c, cpu->seg[i].access);
	}
	F64(c, cpu->gdtr_base);
	F32(c, cpu->gdtr_limit);
	F64(c, cpu->idtr_base);
	F32(c, cpu->idtr_limit);
}

static void section_msrs(struct codec *c, struct vm_saved_state *s)
{
	struct vm_cpu_state *cpu = &s->cpu;

	F64(c, cpu->efer);
	F64(c, cpu->pat);
	F64(c, cpu->debugctl);
	F64(c, cpu->sysenter_cs);
	F64(c, cpu->sysenter_esp);
	F64(c, cpu->sysenter_eip);
	F64(c, cpu->star);
	F64(c, cpu->lstar);
	F64(c, cpu->cstar);
	F64(c, cpu->sfmask);
	F64(c, cpu->kernel_gs_base);
}

static void section_fpu(struct codec *c, struct vm_saved_state *s)
{
	field_bytes(c, s->cpu.fxsave, FXSAVE_BYTES);
}

static void section_events(struct codec *c, struct vm_saved_state *s)
{
	struct vm_cpu_state *cpu = &s->cpu;

	F32(c, cpu->interruptibility);
	F32(c, cpu->activity);
	F64(c, cpu->pending_debug);
	F32(c, cpu->pending_event);
	F32(c, cpu->pending_error);
}

static void section_time(struct codec *c, struct vm_saved_state *s)
{
	F64(c, s->guest_tsc);
	F64(c, s->tsc_hz);
	F64(c, s->clock_ns_base);
	F64(c, s->clock_tsc_base);
}

static void section_cpuid(struct codec *c, struct vm_saved_state *s)
{
	struct cpu_features *f = &s->cpuid;

	F32(c, f->leaf1_ecx);
	F32(c, f->leaf1_edx);
	F32(c, f->leaf7_ebx);
	F32(c, f->leaf7_ecx);
	F32(c, f->leaf7_edx);
	F32(c, f->ext1_ecx);
	F32(c, f->ext1_edx);
	F32(c, f->xsave_eax);
}

static void section_uart(struct codec *c, struct vm_saved_state *s)
{
	struct vdev_uart_regs *r = &s->uart;

	F8(c, r->ier);
	F8(c, r->lcr);
	F8(c, r->mcr);
	F8(c, r->scr);
	F8(c, r->dll);
	F8(c, r->dlm);
	F8(c, r->fcr);
	F32(c, s->uart_line_len);
	field_bytes(c, s->uart_line, VDEV_UART_LINE_MAX);
}

static const struct {
	uint32_t tag;
	uint16_t version;
	void (*codec)(struct codec *c, struct vm_saved_state *s);
} sections[VMS_TAG_COUNT] = {
	{ VMS_TAG_REGS, 1, section_regs },
	{ VMS_TAG_SEGMENTS, 1, section_segments },
	{ VMS_TAG_MSRS, 1, section_msrs },
	{ VMS_TAG_FPU, 1, section_fpu },
	{ VMS_TAG_EVENTS, 1, section_events },
	{ VMS_TAG_TIME, 1, section_time },
	{ VMS_TAG_CPUID, 1, section_cpuid },
	{ VMS_TAG_UART, 1, section_uart },
};

long vm_state_encode(const struct vm_saved_state *s, uint8_t *buf, size_t cap)
{
	struct codec c = { buf, cap, 0, false, false };
	struct vm_saved_state copy = *s;   /* the codec functions take non-const pointers */
	uint32_t magic = VM_STATE_MAGIC;
	uint16_t format = VM_STATE_FORMAT, count = VMS_TAG_COUNT;

	F32(&c, magic);
	F16(&c, format);
	F16(&c, count);
	for (unsigned i = 0; i < VMS_TAG_COUNT; i++) {
		uint32_t tag = sections[i].tag, length = 0;
		uint16_t version = sections[i].version, reserved = 0;
		F32(&c, tag);
		F16(&c, version);
		F16(&c, reserved);
		size_t length_at = c.pos;
		F32(&c, length);
		size_t start = c.pos;
		sections[i].codec(&c, &copy);
		if (c.short_input)
			return FERR_TOOBIG;
		length = (uint32_t)(c.pos - start);
		memcpy(buf + length_at, &length, sizeof(length));
	}
	return c.short_input ? FERR_TOOBIG : (long)c.pos;
}

int vm_state_decode(const uint8_t *buf, size_t len, struct vm_saved_state *s, const char **why)
{
	struct codec c = { (uint8_t *)buf, len, 0, true, false };
	uint32_t magic = 0;
	uint16_t format = 0, count = 0;
	bool seen[VMS_TAG_COUNT] = { false };

	memset(s, 0, sizeof(*s));
	F32(&c, magic);
	F16(&c, format);
	F16(&c, count);
	if (c.short_input || magic != VM_STATE_MAGIC) {
		*why = "not a Ferry guest state (bad magic)";
		return FERR_INVAL;
	}
	if (format != VM_STATE_FORMAT) {
		*why = "guest state format version not supported";
		return FERR_NOTSUP;
	}
	if (count != VMS_TAG_COUNT) {
		*why = "guest state has the wrong number of sections";
		return FERR_INVAL;
	}
	for (unsigned n = 0; n < count; n++) {
		uint32_t tag = 0, length = 0;
		uint16_t version = 0, reserved = 0;
		F32(&c, tag);
		F16(&c, version);
		F16(&c, reserved);
		F32(&c, length);
		if (c.short_input || reserved || length > len - c.pos) {
			*why = "guest state section header truncated or malformed";
			return FERR_INVAL;
		}
		unsigned i = 0;
		while (i < VMS_TAG_COUNT && sections[i].tag != tag)
			i++;
		if (i == VMS_TAG_COUNT) {
			*why = "guest state has an unknown section";
			return FERR_NOTSUP;
		}
		if (seen[i]) {
			*why = "guest state has a section twice";
			return FERR_INVAL;
		}
		seen[i] = true;
		if (version != sections[i].version) {
			*why = "guest state section version not supported";
			return FERR_NOTSUP;
		}
		struct codec sub = { (uint8_t *)buf + c.pos, length, 0, true, false };
		sections[i].codec(&sub, s);
		if (sub.short_input || sub.pos != length) {
			*why = "guest state section length does not match its content";
			return FERR_INVAL;
		}
		c.pos += length;
	}
	if (c.pos != len) {
		*why = "guest state has trailing bytes";
		return FERR_INVAL;
	}
	return FERR_OK;
}

/* ---- validation (SDM Vol. 3C 26.3.1) ---------------------------------------------- */

#define CANONICAL_BITS 48

#define CR0_PE (1ull << 0)
#define CR0_NE (1ull << 5)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PCIDE (1ull << 17)

#define PDPTE_PRESENT (1ull << 0)
#define PDPTE_RESERVED 0x1e6ull   /* bits 1, 2, 5-8 (SDM Vol. 3A 4.4.1) */

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_KNOWN (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

#define RFLAGS_FIXED1   (1ull << 1)
#define RFLAGS_RESERVED (~0x3f7fd7ull)   /* bits 3, 5, 15, 22-63 */
#define RFLAGS_VM       (1ull << 17)

/* Access rights (table 24-2). */
#define AR_TYPE(a)     ((a) & 0xfu)
#define AR_S           (1u << 4)
#define AR_DPL(a)      (((a) >> 5) & 3u)
#define AR_P           (1u << 7)
#define AR_L           (1u << 13)
#define AR_DB          (1u << 14)
#define AR_G           (1u << 15)
#define AR_UNUSABLE_BIT (1u << 16)
#define AR_RESERVED    (0xfffe0f00u)
#define TYPE_ACCESSED  1u
#define TYPE_WRITABLE_OR_READABLE 2u
#define TYPE_CODE      8u
#define TYPE_LDT       2u
#define TYPE_TSS16_BUSY 3u
#define TYPE_TSS64_BUSY 11u
#define SELECTOR_TI    4u
#define SELECTOR_RPL(s) ((s) & 3u)

#define INTERRUPTIBILITY_STI    (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)
#define INTERRUPTIBILITY_KNOWN  0xfu
#define ACTIVITY_ACTIVE 0u
#define ACTIVITY_HLT    1u
#define PENDING_DEBUG_KNOWN 0x1500full   /* B0-B3, enabled breakpoint, BS, RTM (24.4.2) */

#define EVENT_VALID   (1u << 31)
#define EVENT_DELIVER_ERROR (1u << 11)
#define EVENT_RESERVED 0x7ffff000u
#define EVENT_TYPE(e) (((e) >> 8) & 7u)
#define EVENT_VECTOR(e) ((e) & 0xffu)
#define EVENT_EXTERNAL 0u
#define EVENT_NMI 2u
#define EVENT_HW_EXCEPTION 3u
#define VECTOR_NMI 2u
#define EXCEPTIONS_WITH_ERROR ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
			       (1u << 14) | (1u << 17) | (1u << 21))
#define MXCSR_BITS 0xffffu

bool vm_state_canonical(uint64_t addr)
{
	int64_t sign_extended = (int64_t)(addr << (64 - CANONICAL_BITS)) >> (64 - CANONICAL_BITS);
	return (uint64_t)sign_extended == addr;
}

static bool pat_valid(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned type = (pat >> (8 * i)) & 0xff;
		if (type == 2 || type == 3 || type > 7)   /* reserved memory types (SDM Vol. 3A 11.12.2) */
			return false;
	}
	return true;
}

/* Limit and granularity agree (26.3.1.2): G clear means limit < 1 MiB; G set means limit[11:0] all ones. */
static bool limit_matches_granularity(const struct vm_segment_state *seg)
{
	if ((seg->limit & 0xfff) != 0xfff && (seg->access & AR_G))
		return false;
	if ((seg->limit & 0xfff00000u) && !(seg->access & AR_G))
		return false;
	return true;
}

#define FAIL(msg) do { *why = (msg); return FERR_INVAL; } while (0)

static int validate_control(const struct vm_cpu_state *c, const struct vm_state_limits *lim,
			    bool *long_mode, const char **why)
{
	uint64_t cr0_real = c->cr0 | (lim->cr0_fixed0 & ~lim->cr0_guest_owned_ok);
	uint64_t cr4_real = c->cr4 | lim->cr4_fixed0;

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

	if (c->efer & ~EFER_KNOWN)
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
		if ((e & PDPTE_PRESENT) && ((e & PDPTE_RESERVED) || (lim->phys_bits < 64 && e >> lim->phys_bits)))
			FAIL("a PDPTE sets reserved bits");
	}
	if (!pat_valid(c->pat))
		FAIL("IA32_PAT holds a reserved memory type");
	if (c->debugctl)
		FAIL("IA32_DEBUGCTL must be 0 (Ferry does not offer debug features)");
	if (!vm_state_canonical(c->sysenter_esp) || !vm_state_canonical(c->sysenter_eip))
		FAIL("SYSENTER_ESP/EIP not canonical");
	if (c->sysenter_cs >> 32)
		FAIL("SYSENTER_CS sets reserved bits");
	if (!vm_state_canonical(c->lstar) || !vm_state_canonical(c->cstar) ||
	    !vm_state_canonical(c->kernel_gs_base))
		FAIL("LSTAR/CSTAR/KERNEL_GS_BASE not canonical");
	if (c->sfmask >> 32)
		FAIL("SFMASK sets reserved bits 63:32");
	*long_mode = lma;
	return FERR_OK;
}

static int validate_segments(const struct vm_cpu_state *c, bool long_mode, bool unrestricted,
			     const char **why)
{
	for (unsigned i = 0; i < SEG_COUNT; i++) {
		const struct vm_segment_state *seg = &c->seg[i];
		bool usable = !(seg->access & AR_UNUSABLE_BIT);
		if (seg->access & AR_RESERVED)
			FAIL("segment access rights set reserved bits");
		if (!usable)
			continue;
		if (!(seg->access & AR_P))
			FAIL("a usable segment is not present");
		if (!limit_matches_granularity(seg))
			FAIL("segment limit disagrees with its granularity bit");
		if (i == SEG_FS || i == SEG_GS || i == SEG_LDTR || i == SEG_TR) {
			if (!vm_state_canonical(seg->base))
				FAIL("FS/GS/LDTR/TR base not canonical");
		} else if (seg->base >> 32) {
			FAIL("CS/SS/DS/ES base sets bits 63:32");
		}
	}

	const struct vm_segment_state *cs = &c->seg[SEG_CS];
	const struct vm_segment_state *ss = &c->seg[SEG_SS];
	const struct vm_segment_state *tr = &c->seg[SEG_TR];
	const struct vm_segment_state *ldtr = &c->seg[SEG_LDTR];
	if (cs->access & AR_UNUSABLE_BIT)
		FAIL("CS is unusable");
	unsigned cs_type = AR_TYPE(cs->access);
	bool cs_ok = (cs_type & TYPE_CODE) && (cs_type & TYPE_ACCESSED);
	if (unrestricted && cs_type == (TYPE_WRITABLE_OR_READABLE | TYPE_ACCESSED))
		cs_ok = true;   /* a read/write accessed data segment, as after real mode */
	if (!cs_ok || !(cs->access & AR_S))
		FAIL("CS type is not an accessed code segment");
	if (long_mode && (cs->access & AR_L) && (cs->access & AR_DB))
		FAIL("CS sets both L and D/B");
	if (!(ss->access & AR_UNUSABLE_BIT)) {
		unsigned t = AR_TYPE(ss->access);
		if ((t != 3 && t != 7) || !(ss->access & AR_S))
			FAIL("SS is not a writable accessed data segment");
		if (!unrestricted && AR_DPL(ss->access) != SELECTOR_RPL(ss->selector))
			FAIL("SS.DPL differs from its RPL");
	}
	for (unsigned i = SEG_ES; i <= SEG_GS; i++) {
		if (i == SEG_CS || i == SEG_SS || (c->seg[i].access & AR_UNUSABLE_BIT))
			continue;
		unsigned t = AR_TYPE(c->seg[i].access);
		if (!(t & TYPE_ACCESSED) || !(c->seg[i].access & AR_S))
			FAIL("a data segment is not accessed or not code/data");
		if ((t & TYPE_CODE) && !(t & TYPE_WRITABLE_OR_READABLE))
			FAIL("a data segment register holds an unreadable code segment");
	}
	if (tr->access & AR_UNUSABLE_BIT)
		FAIL("TR is unusable");
	if (tr->selector & SELECTOR_TI)
		FAIL("TR selector points into the LDT");
	unsigned tr_type = AR_TYPE(tr->access);
	bool tr_type_ok = long_mode ? tr_type == TYPE_TSS64_BUSY
				    : (tr_type == TYPE_TSS16_BUSY || tr_type == TYPE_TSS64_BUSY);
	if ((tr->access & AR_S) || !tr_type_ok)
		FAIL("TR is not a busy TSS");
	if (!(ldtr->access & AR_UNUSABLE_BIT)) {
		if ((ldtr->access & AR_S) || AR_TYPE(ldtr->access) != TYPE_LDT || (ldtr->selector & SELECTOR_TI))
			FAIL("LDTR is not an LDT");
	}
	if (!vm_state_canonical(c->gdtr_base) || !vm_state_canonical(c->idtr_base))
		FAIL("GDTR/IDTR base not canonical");
	if (c->gdtr_limit > 0xffff || c->idtr_limit > 0xffff)
		FAIL("GDTR/IDTR limit above 0xffff");
	bool code64 = cs->access & AR_L;
	if (code64 && !long_mode)
		FAIL("CS.L set outside long mode");
	if (code64 ? !vm_state_canonical(c->rip) : (c->rip >> 32) != 0)
		FAIL("RIP not canonical (or above 4 GiB outside 64-bit code)");
	return FERR_OK;
}

static int validate_events(const struct vm_cpu_state *c, const char **why)
{
	if (c->interruptibility & ~INTERRUPTIBILITY_KNOWN)
		FAIL("interruptibility state sets reserved bits");
	if ((c->interruptibility & INTERRUPTIBILITY_STI) && (c->interruptibility & INTERRUPTIBILITY_MOV_SS))
		FAIL("blocking by STI and by MOV SS both set");
	if (c->activity != ACTIVITY_ACTIVE && c->activity != ACTIVITY_HLT)
		FAIL("activity state not active or HLT");
	if (c->pending_debug & ~PENDING_DEBUG_KNOWN)
		FAIL("pending debug exceptions set reserved bits");
	uint32_t e = c->pending_event;
	if (!(e & EVENT_VALID)) {
		if (e || c->pending_error)
			FAIL("an invalid pending event carries data");
		return FERR_OK;
	}
	if (e & EVENT_RESERVED)
		FAIL("pending event sets reserved bits");
	unsigned type = EVENT_TYPE(e), vector = EVENT_VECTOR(e);
	switch (type) {
	case EVENT_EXTERNAL:
		break;
	case EVENT_NMI:
		if (vector != VECTOR_NMI)
			FAIL("pending NMI with a vector other than 2");
		break;
	case EVENT_HW_EXCEPTION:
		if (vector >= 32)
			FAIL("pending hardware exception with a vector above 31");
		break;
	default:   /* software events are re-executed, never carried (docs/vmx.md) */
		FAIL("pending event of a type Ferry does not carry");
	}
	bool wants_error = type == EVENT_HW_EXCEPTION && vector < 32 &&
			   (EXCEPTIONS_WITH_ERROR & (1u << vector));
	if (!!(e & EVENT_DELIVER_ERROR) != wants_error)
		FAIL("pending event's error-code flag disagrees with its vector");
	if (!wants_error && c->pending_error)
		FAIL("pending event carries an error code it does not deliver");
	return FERR_OK;
}

int vm_state_validate(const struct vm_saved_state *s, const struct vm_state_limits *lim,
		      const char **why)
{
	bool long_mode = false;
	int err = validate_control(&s->cpu, lim, &long_mode, why);
	if (err)
		return err;
	err = validate_segments(&s->cpu, long_mode, lim->cr0_guest_owned_ok != 0, why);
	if (err)
		return err;
	err = validate_events(&s->cpu, why);
	if (err)
		return err;
	uint32_t mxcsr;
	memcpy(&mxcsr, s->cpu.fxsave + FXSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	if (mxcsr & ~(lim->mxcsr_mask & MXCSR_BITS))
		FAIL("MXCSR sets bits this CPU does not support");
	if (!s->tsc_hz)
		FAIL("guest TSC rate is 0");
	if (s->uart_line_len >= VDEV_UART_LINE_MAX)
		FAIL("UART line length out of range");
	if (s->uart.ier & 0xf0 || s->uart.mcr & 0xe0)
		FAIL("UART registers set reserved bits");
	if (!cpu_features_subset(&s->cpuid, &lim->host, NULL)) {
		*why = "the guest was given CPU features this host lacks";
		return FERR_NOTSUP;
	}
	return FERR_OK;
}
