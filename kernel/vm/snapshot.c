/*
 * The snapshot codec and its validation; see snapshot.h. Each section has
 * one function that both encodes and decodes it (the codec carries the
 * direction), so the two paths cannot drift apart.
 */
#include "kernel/vm/snapshot.h"
#include "arch/x86/spec_ctrl.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/vm/vm.h"

#include <string.h>

#define HEADER_BYTES 8
#define SECTION_HEADER_BYTES 12

struct codec {
	uint8_t *buf;       /* encode: output; decode: input (not written) */
	size_t len, pos;
	bool decode;
	bool short_input;   /* decode ran past the payload, or encode past the buffer */
	const char *why;    /* decode: a section's content is invalid (it says why) */
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

static void section_regs(struct codec *c, struct vm_snapshot *s)
{
	struct x86_cpu_state *cpu = &s->cpu;

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

static void section_segments(struct codec *c, struct vm_snapshot *s)
{
	struct x86_cpu_state *cpu = &s->cpu;

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

static void section_msrs(struct codec *c, struct vm_snapshot *s)
{
	struct x86_cpu_state *cpu = &s->cpu;

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
	F64(c, cpu->spec_ctrl);
}

static void section_fpu(struct codec *c, struct vm_snapshot *s)
{
	field_bytes(c, s->cpu.fxsave, FXSAVE_BYTES);
}

static void section_events(struct codec *c, struct vm_snapshot *s)
{
	struct x86_cpu_state *cpu = &s->cpu;

	F32(c, cpu->interruptibility);
	F32(c, cpu->activity);
	F64(c, cpu->pending_debug);
	F32(c, cpu->pending_event);
	F32(c, cpu->pending_error);
}

static void section_time(struct codec *c, struct vm_snapshot *s)
{
	F64(c, s->guest_tsc);
	F64(c, s->tsc_hz);
	F64(c, s->clock_ns_base);
	F64(c, s->clock_tsc_base);
}

static void section_cpuid(struct codec *c, struct vm_snapshot *s)
{
	struct cpu_features *f = &s->cpuid;

	F32(c, s->vendor);
	F32(c, f->leaf1_ecx);
	F32(c, f->leaf1_edx);
	F32(c, f->leaf7_ebx);
	F32(c, f->leaf7_ecx);
	F32(c, f->leaf7_edx);
	F32(c, f->ext1_ecx);
	F32(c, f->ext1_edx);
	F32(c, f->xsave_eax);
}

static void section_uart(struct codec *c, struct vm_snapshot *s)
{
	struct vdev_uart_regs *r = &s->uart;

	F8(c, r->ier);
	F8(c, r->lcr);
	F8(c, r->mcr);
	F8(c, r->scr);
	F8(c, r->dll);
	F8(c, r->dlm);
	F8(c, r->fcr);
	F8(c, r->lsr_errors);      /* version 2: the interrupt state and the receive FIFO */
	F8(c, r->thre_pending);
	F8(c, r->irq_asserted);
	F8(c, r->rx_head);
	F8(c, r->rx_count);
	field_bytes(c, r->rx, VDEV_UART_FIFO_BYTES);
	F32(c, s->uart_line_len);
	field_bytes(c, s->uart_line, VDEV_UART_LINE_MAX);
}

/* The local APIC's state as the model keeps it (kernel/vdev/lapic.h), field by field. */
static void section_lapic(struct codec *c, struct vm_snapshot *s)
{
	struct vdev_lapic_state *l = &s->lapic;

	F64(c, l->apic_base);
	F64(c, l->timer_deadline);
	F64(c, l->timer_period);
	F32(c, l->id);
	F32(c, l->tpr);
	F32(c, l->ldr);
	F32(c, l->dfr);
	F32(c, l->svr);
	F32(c, l->esr);
	F32(c, l->esr_pending);
	F32(c, l->icr_low);
	F32(c, l->icr_high);
	for (unsigned i = 0; i < LAPIC_LVT_COUNT; i++)
		F32(c, l->lvt[i]);
	for (unsigned i = 0; i < APIC_VECTOR_REGS; i++)
		F32(c, l->isr[i]);
	for (unsigned i = 0; i < APIC_VECTOR_REGS; i++)
		F32(c, l->tmr[i]);
	for (unsigned i = 0; i < APIC_VECTOR_REGS; i++)
		F32(c, l->irr[i]);
	F32(c, l->timer_initial);
	F32(c, l->timer_divide);
	F32(c, l->tsc_per_tick);
	F8(c, l->timer_armed);
	F8(c, l->nmi_pending);
}

static void section_ioapic(struct codec *c, struct vm_snapshot *s)
{
	struct vdev_ioapic_state *io = &s->ioapic;

	for (unsigned i = 0; i < VDEV_IOAPIC_PINS; i++)
		F64(c, io->redir[i]);
	F32(c, io->id);
	F32(c, io->regsel);
	F32(c, io->asserted);
}

static void section_platform(struct codec *c, struct vm_snapshot *s)
{
	struct vm_snapshot_platform *p = &s->platform;

	F8(c, p->halted);
	F8(c, p->rtc_index);
	F32(c, p->tsc_per_tick);
	F32(c, p->crystal_hz);
	field_bytes(c, p->args, VM_SNAPSHOT_ARGS_BYTES);
	if (c->decode)
		s->has_platform = true;
}

/* The network card's section: the device's own codec (virtio_net_state_encode/decode). */
static void section_nic(struct codec *c, struct vm_snapshot *s)
{
	uint8_t raw[VIRTIO_NET_STATE_BYTES];

	if (!c->decode && virtio_net_state_encode(&s->nic, raw, sizeof(raw)) != (long)sizeof(raw)) {
		c->short_input = true;
		return;
	}
	field_bytes(c, raw, sizeof(raw));
	if (!c->decode || c->short_input)
		return;
	if (virtio_net_state_decode(VIRTIO_NET_STATE_VERSION, raw, sizeof(raw), &s->nic, &c->why))
		return;
	s->has_nic = true;
}

static const struct {
	uint32_t tag;
	uint16_t version;
	void (*codec)(struct codec *c, struct vm_snapshot *s);
} sections[SNAP_TAG_COUNT_NIC] = {
	{ SNAP_TAG_REGS, 1, section_regs },
	{ SNAP_TAG_SEGMENTS, 1, section_segments },
	{ SNAP_TAG_MSRS, 2, section_msrs },     /* 2: IA32_SPEC_CTRL last */
	{ SNAP_TAG_FPU, 1, section_fpu },
	{ SNAP_TAG_EVENTS, 1, section_events },
	{ SNAP_TAG_TIME, 1, section_time },
	{ SNAP_TAG_CPUID, 2, section_cpuid },   /* 2: the vendor first */
	{ SNAP_TAG_UART, 2, section_uart },     /* 2: interrupt state and receive FIFO */
	{ SNAP_TAG_LAPIC, 1, section_lapic },   /* the Linux platform's three, all or none */
	{ SNAP_TAG_IOAPIC, 1, section_ioapic },
	{ SNAP_TAG_PLATFORM, 1, section_platform },
	{ SNAP_TAG_NIC, VIRTIO_NET_STATE_VERSION, section_nic },   /* with the platform's only */
};

long vm_snapshot_encode(const struct vm_snapshot *s, uint8_t *buf, size_t cap)
{
	struct codec c = { buf, cap, 0, false, false, NULL };
	struct vm_snapshot copy = *s;   /* the codec functions take non-const pointers */
	uint32_t magic = VM_SNAPSHOT_MAGIC;
	uint16_t format = VM_SNAPSHOT_FORMAT, count = !s->has_platform ? SNAP_TAG_COUNT_BASE
			       : s->has_nic ? SNAP_TAG_COUNT_NIC : SNAP_TAG_COUNT;

	F32(&c, magic);
	F16(&c, format);
	F16(&c, count);
	for (unsigned i = 0; i < count; i++) {
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

int vm_snapshot_decode(const uint8_t *buf, size_t len, struct vm_snapshot *s, const char **why)
{
	struct codec c = { (uint8_t *)buf, len, 0, true, false, NULL };
	uint32_t magic = 0;
	uint16_t format = 0, count = 0;
	bool seen[SNAP_TAG_COUNT_NIC] = { false };

	memset(s, 0, sizeof(*s));
	F32(&c, magic);
	F16(&c, format);
	F16(&c, count);
	if (c.short_input || magic != VM_SNAPSHOT_MAGIC) {
		*why = "not a Ferry guest state (bad magic)";
		return FERR_INVAL;
	}
	if (format != VM_SNAPSHOT_FORMAT) {
		*why = "guest state format version not supported";
		return FERR_NOTSUP;
	}
	if (count != SNAP_TAG_COUNT_NIC && count != SNAP_TAG_COUNT && count != SNAP_TAG_COUNT_BASE) {
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
		while (i < SNAP_TAG_COUNT_NIC && sections[i].tag != tag)
			i++;
		if (i == SNAP_TAG_COUNT_NIC) {
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
		struct codec sub = { (uint8_t *)buf + c.pos, length, 0, true, false, NULL };
		sections[i].codec(&sub, s);
		if (sub.why) {
			*why = sub.why;
			return FERR_INVAL;
		}
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
	for (unsigned i = 0; i < count; i++)
		if (!seen[i]) {   /* count sections, none twice: exactly the first `count` kinds */
			*why = "guest state lacks a section";
			return FERR_INVAL;
		}
	return FERR_OK;
}

/* ---- validation ------------------------------------------------------------------ */

#define PPM 1000000u
#define HZ_PER_KHZ 1000u

/* The TSC rate the guest was told against this host's: within the tolerance, or why not. */
static int check_tsc_rate(uint64_t guest_hz, uint64_t host_hz, const char **why)
{
	static char text[VM_WHY_MAX];
	uint64_t diff = guest_hz > host_hz ? guest_hz - host_hz : host_hz - guest_hz;

	if (!guest_hz) {
		*why = "guest TSC rate is 0";
		return FERR_INVAL;
	}
	if (diff <= host_hz / PPM * VM_SNAPSHOT_TSC_TOLERANCE_PPM)
		return FERR_OK;
	fmt_snprintf(text, sizeof(text), "the guest's TSC runs at %llu kHz; this host's at %llu kHz",
		     (unsigned long long)(guest_hz / HZ_PER_KHZ), (unsigned long long)(host_hz / HZ_PER_KHZ));
	*why = text;
	return FERR_NOTSUP;
}

/* The Linux platform's sections: each model's own validator, then what ties them together. */
static int validate_platform(const struct vm_snapshot *s, const char **why)
{
	const struct vm_snapshot_platform *p = &s->platform;
	int err = vdev_lapic_check_state(&s->lapic, why);

	if (!err)
		err = vdev_ioapic_check_state(&s->ioapic, why);
	if (err)
		return err;
	if (p->halted > 1 || p->tsc_per_tick != s->lapic.tsc_per_tick || !p->crystal_hz ||
	    p->crystal_hz % HZ_PER_KHZ) {
		*why = "platform state out of range";
		return FERR_INVAL;
	}
	if (memchr(p->args, 0, VM_SNAPSHOT_ARGS_BYTES) == NULL) {
		*why = "platform args not terminated";
		return FERR_INVAL;
	}
	return FERR_OK;
}

int vm_snapshot_validate(const struct vm_snapshot *s, const struct x86_state_limits *lim,
			 const char **why)
{
	if (s->vendor != lim->vendor) {
		*why = cpu_vendor_mismatch(s->vendor, lim->vendor);
		return FERR_NOTSUP;
	}
	int err = x86_cpu_state_validate(&s->cpu, lim, why);
	if (!err)
		err = check_tsc_rate(s->tsc_hz, lim->tsc_hz, why);
	if (!err)
		err = vdev_uart_check_state(&s->uart, s->uart_line_len, why);
	if (!err && s->has_platform)
		err = validate_platform(s, why);
	if (err)
		return err;
	if (!cpu_features_subset(&s->cpuid, &lim->host, NULL)) {
		*why = "the guest was given CPU features this host lacks";
		return FERR_NOTSUP;
	}
	if (s->cpu.spec_ctrl & ~spec_guest_spec_ctrl_bits(&s->cpuid)) {
		*why = "IA32_SPEC_CTRL sets bits the guest's CPUID does not offer";
		return FERR_INVAL;
	}
	return FERR_OK;
}
