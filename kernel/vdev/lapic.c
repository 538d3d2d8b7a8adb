/* The guests' local APIC model (contract in lapic.h; Intel SDM Vol. 3A ch. 11). */
#include "kernel/vdev/lapic.h"

#include <string.h>

#include "kernel/lib/errors.h"

#define LVT_RESET APIC_LVT_MASKED
#define SVR_RESET APIC_SVR_VECTOR_MASK   /* vector 0xFF, software-disabled */
#define VECTOR_BITS 32u

/* What the guest may write in each LVT entry (SDM Figure 11-8): the timer has no
 * delivery mode; LINT0/1 have polarity and trigger; the error entry only vector and mask.
 * Delivery status and remote IRR are read-only everywhere. */
static const uint32_t lvt_writable[LAPIC_LVT_COUNT] = {
	[LAPIC_LVT_TIMER] = APIC_LVT_VECTOR_MASK | APIC_LVT_MASKED | APIC_LVT_TIMER_MODE_MASK,
	[LAPIC_LVT_THERMAL] = APIC_LVT_VECTOR_MASK | APIC_LVT_DELIVERY_MASK | APIC_LVT_MASKED,
	[LAPIC_LVT_PERF] = APIC_LVT_VECTOR_MASK | APIC_LVT_DELIVERY_MASK | APIC_LVT_MASKED,
	[LAPIC_LVT_LINT0] = APIC_LVT_VECTOR_MASK | APIC_LVT_DELIVERY_MASK | APIC_LVT_POLARITY_LOW |
			    APIC_LVT_LEVEL | APIC_LVT_MASKED,
	[LAPIC_LVT_LINT1] = APIC_LVT_VECTOR_MASK | APIC_LVT_DELIVERY_MASK | APIC_LVT_POLARITY_LOW |
			    APIC_LVT_LEVEL | APIC_LVT_MASKED,
	[LAPIC_LVT_ERROR] = APIC_LVT_VECTOR_MASK | APIC_LVT_MASKED,
};

static int refuse(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* ---- 256-bit vector registers (ISR, TMR, IRR: vector v is bit v % 32 of word v / 32) -- */
static void vec_set(uint32_t *reg, unsigned v) { reg[v / VECTOR_BITS] |= 1u << (v % VECTOR_BITS); }
static void vec_clear(uint32_t *reg, unsigned v) { reg[v / VECTOR_BITS] &= ~(1u << (v % VECTOR_BITS)); }
static bool vec_test(const uint32_t *reg, unsigned v) { return (reg[v / VECTOR_BITS] >> (v % VECTOR_BITS)) & 1u; }

/* The highest vector set, or -1. */
static int vec_highest(const uint32_t *reg)
{
	for (int w = APIC_VECTOR_REGS - 1; w >= 0; w--)
		if (reg[w])
			return w * (int)VECTOR_BITS + (int)(VECTOR_BITS - 1) - __builtin_clz(reg[w]);
	return -1;
}

/* ---- state ---------------------------------------------------------------------- */
static bool hw_enabled(const struct vdev_lapic *l) { return l->s.apic_base & APIC_BASE_ENABLE; }
static bool sw_enabled(const struct vdev_lapic *l) { return l->s.svr & APIC_SVR_ENABLE; }

static unsigned timer_mode(const struct vdev_lapic *l)
{
	return (l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK) >> APIC_LVT_TIMER_MODE_SHIFT;
}

/* Everything but the ID and the base MSR back to the power-up values (SDM 11.4.7.1). */
static void reset_registers(struct vdev_lapic *l)
{
	struct vdev_lapic_state *s = &l->s;
	uint64_t base = s->apic_base;
	uint32_t id = s->id, tsc_per_tick = s->tsc_per_tick;

	memset(s, 0, sizeof(*s));
	s->apic_base = base;
	s->id = id;
	s->tsc_per_tick = tsc_per_tick;
	s->dfr = 0xffffffffu;
	s->svr = SVR_RESET;
	for (int i = 0; i < LAPIC_LVT_COUNT; i++)
		s->lvt[i] = LVT_RESET;
}

int vdev_lapic_init(struct vdev_lapic *l, uint8_t apic_id, uint32_t tsc_per_tick,
		    vdev_lapic_eoi_fn on_level_eoi, void *ctx)
{
	if (tsc_per_tick == 0 || tsc_per_tick > VDEV_LAPIC_MAX_TSC_PER_TICK)
		return FERR_RANGE;
	memset(l, 0, sizeof(*l));
	l->s.apic_base = APIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_ENABLE;
	l->s.id = (uint32_t)apic_id << APIC_ID_SHIFT;
	l->s.tsc_per_tick = tsc_per_tick;
	reset_registers(l);
	l->on_level_eoi = on_level_eoi;
	l->ctx = ctx;
	return 0;
}

/* ---- priorities (SDM 11.8.3) ------------------------------------------------------ */
static uint32_t ppr(const struct vdev_lapic *l)
{
	int isrv = vec_highest(l->s.isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & APIC_PRIORITY_CLASS;
	uint32_t tpr = l->s.tpr & APIC_PRIORITY_MASK;

	return (tpr & APIC_PRIORITY_CLASS) >= isr_class ? tpr : isr_class;
}

int vdev_lapic_pending(const struct vdev_lapic *l)
{
	int irrv = vec_highest(l->s.irr);

	if (!hw_enabled(l) || irrv < 0)
		return -1;
	return ((uint32_t)irrv & APIC_PRIORITY_CLASS) > (ppr(l) & APIC_PRIORITY_CLASS) ? irrv : -1;
}

int vdev_lapic_take(struct vdev_lapic *l)
{
	int v = vdev_lapic_pending(l);

	if (v < 0)
		return -1;
	vec_clear(l->s.irr, (unsigned)v);
	vec_set(l->s.isr, (unsigned)v);
	return v;
}

static void record_error(struct vdev_lapic *l, uint32_t bits)
{
	uint32_t lvt = l->s.lvt[LAPIC_LVT_ERROR];

	l->s.esr_pending |= bits;
	/* The error interrupt itself goes through the usual acceptance; an illegal vector in
	 * the error LVT cannot loop, since accept() only reports vectors below 16. */
	if (!(lvt & APIC_LVT_MASKED) && (lvt & APIC_LVT_VECTOR_MASK) >= APIC_FIRST_LEGAL_VECTOR)
		vdev_lapic_accept(l, (uint8_t)(lvt & APIC_LVT_VECTOR_MASK), false);
}

void vdev_lapic_accept(struct vdev_lapic *l, uint8_t vector, bool level)
{
	if (!hw_enabled(l) || !sw_enabled(l))
		return;   /* a disabled APIC accepts no fixed interrupts (SDM 11.4.7.2) */
	if (vector < APIC_FIRST_LEGAL_VECTOR) {
		record_error(l, APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
		return;
	}
	vec_set(l->s.irr, vector);
	if (level)
		vec_set(l->s.tmr, vector);
	else
		vec_clear(l->s.tmr, vector);
}

bool vdev_lapic_matches(const struct vdev_lapic *l, uint8_t dest, bool logical)
{
	uint8_t id = (uint8_t)(l->s.id >> APIC_ID_SHIFT);
	uint8_t ldr = (uint8_t)(l->s.ldr >> APIC_LDR_SHIFT);

	if (!logical)
		return dest == APIC_BROADCAST_ID || dest == id;
	if (dest == APIC_BROADCAST_ID)
		return true;
	if ((l->s.dfr >> APIC_DFR_MODEL_SHIFT) == APIC_DFR_FLAT)
		return (ldr & dest) != 0;
	/* Cluster model (SDM 11.6.2.2): cluster in bits 7:4, members in 3:0. */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
}

static void eoi(struct vdev_lapic *l)
{
	int v = vec_highest(l->s.isr);

	if (v < 0)
		return;
	vec_clear(l->s.isr, (unsigned)v);
	if (vec_test(l->s.tmr, (unsigned)v)) {
		vec_clear(l->s.tmr, (unsigned)v);
		if (l->on_level_eoi)
			l->on_level_eoi(l->ctx, (uint8_t)v);
	}
}

/* An IPI (SDM 11.6.1): one vCPU, so only what reaches this APIC has an effect. */
static void send_ipi(struct vdev_lapic *l)
{
	uint32_t low = l->s.icr_low;
	unsigned mode = (low & APIC_ICR_DELIVERY_MASK) >> APIC_ICR_DELIVERY_SHIFT;
	unsigned shorthand = (low & APIC_ICR_SHORTHAND_MASK) >> APIC_ICR_SHORTHAND_SHIFT;
	uint8_t vector = (uint8_t)(low & APIC_ICR_VECTOR_MASK);
	uint8_t dest = (uint8_t)(l->s.icr_high >> APIC_DEST_SHIFT);
	bool to_self;

	switch (shorthand) {
	case APIC_SHORTHAND_SELF:
	case APIC_SHORTHAND_ALL:
		to_self = true;
		break;
	case APIC_SHORTHAND_OTHERS:
		to_self = false;
		break;
	default:
		to_self = vdev_lapic_matches(l, dest, low & APIC_ICR_LOGICAL);
		break;
	}
	if (mode == APIC_DELIVERY_FIXED || mode == APIC_DELIVERY_LOWEST) {
		if (vector < APIC_FIRST_LEGAL_VECTOR) {
			record_error(l, APIC_ESR_SEND_ILLEGAL_VECTOR);
			return;
		}
		if (to_self)
			vdev_lapic_accept(l, vector, false);
	} else if (mode == APIC_DELIVERY_NMI && to_self) {
		l->s.nmi_pending = 1;
	}
	/* INIT, STARTUP and SMI have no other processor to reach and are not sent to
	 * oneself by Linux: nothing to do. */
}

/* ---- the timer (SDM 11.5.4) ---------------------------------------------------------- */
static uint64_t timer_divisor(const struct vdev_lapic *l)
{
	/* Bits 3, 1, 0 form a 3-bit value: 0..6 divide by 2^(value+1), 7 by 1. */
	uint32_t d = l->s.timer_divide;
	uint32_t value = (d & 3u) | ((d >> 1) & 4u);

	return 1ull << ((value + 1) & 7u);
}

static uint64_t tsc_per_count(const struct vdev_lapic *l)
{
	return timer_divisor(l) * l->s.tsc_per_tick;
}

static void timer_stop(struct vdev_lapic *l)
{
	l->s.timer_armed = 0;
	l->s.timer_deadline = 0;
	l->s.timer_period = 0;
}

static void timer_start_count(struct vdev_lapic *l, uint64_t now)
{
	uint64_t length = (uint64_t)l->s.timer_initial * tsc_per_count(l);

	if (l->s.timer_initial == 0) {   /* a zero count stops the timer */
		timer_stop(l);
		return;
	}
	l->s.timer_armed = 1;
	l->s.timer_deadline = now > UINT64_MAX - length ? UINT64_MAX : now + length;
	l->s.timer_period = timer_mode(l) == APIC_TIMER_PERIODIC ? length : 0;
}

static uint32_t timer_current(const struct vdev_lapic *l, uint64_t now)
{
	uint64_t per_count = tsc_per_count(l), left;

	if (!l->s.timer_armed || timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
		return 0;
	if (now < l->s.timer_deadline)
		left = l->s.timer_deadline - now;
	else if (l->s.timer_period)   /* expired, not yet advanced: the next period runs */
		left = l->s.timer_period - (now - l->s.timer_deadline) % l->s.timer_period;
	else
		return 0;
	uint64_t count = (left + per_count - 1) / per_count;
	return count > l->s.timer_initial ? l->s.timer_initial : (uint32_t)count;
}

uint64_t vdev_lapic_next_deadline(const struct vdev_lapic *l)
{
	/* A masked timer still counts (its current count is computed when read) but never
	 * needs the run loop's attention. */
	if (!l->s.timer_armed || (l->s.lvt[LAPIC_LVT_TIMER] & APIC_LVT_MASKED))
		return UINT64_MAX;
	return l->s.timer_deadline;
}

bool vdev_lapic_advance(struct vdev_lapic *l, uint64_t now)
{
	uint32_t lvt = l->s.lvt[LAPIC_LVT_TIMER];

	if (!l->s.timer_armed || now < l->s.timer_deadline)
		return false;
	if (l->s.timer_period) {
		uint64_t missed = (now - l->s.timer_deadline) / l->s.timer_period;
		l->s.timer_deadline += (missed + 1) * l->s.timer_period;
	} else {
		timer_stop(l);   /* one-shot counts to 0; a TSC deadline reads 0 once it fired */
	}
	if (lvt & APIC_LVT_MASKED)
		return false;
	vdev_lapic_accept(l, (uint8_t)(lvt & APIC_LVT_VECTOR_MASK), false);
	return true;
}

uint64_t vdev_lapic_read_tsc_deadline(const struct vdev_lapic *l)
{
	if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE || !l->s.timer_armed)
		return 0;
	return l->s.timer_deadline;
}

void vdev_lapic_write_tsc_deadline(struct vdev_lapic *l, uint64_t deadline)
{
	if (timer_mode(l) != APIC_TIMER_TSC_DEADLINE)
		return;
	if (deadline == 0) {
		timer_stop(l);
		return;
	}
	l->s.timer_armed = 1;
	l->s.timer_deadline = deadline;
	l->s.timer_period = 0;
}

static void write_lvt(struct vdev_lapic *l, enum vdev_lapic_lvt which, uint32_t value)
{
	uint32_t old_mode = timer_mode(l);
	uint32_t v = value & lvt_writable[which];

	if (!sw_enabled(l))
		v |= APIC_LVT_MASKED;   /* SDM 11.4.7.2: masks cannot be cleared while disabled */
	if (which == LAPIC_LVT_TIMER && ((v & APIC_LVT_TIMER_MODE_MASK) >> APIC_LVT_TIMER_MODE_SHIFT) == 3u)
		v &= ~APIC_LVT_TIMER_MODE_MASK;   /* mode 3 is reserved: one-shot */
	l->s.lvt[which] = (l->s.lvt[which] & ~lvt_writable[which]) | v;
	/* A mode change disarms the timer and clears the count, as hardware does when
	 * switching between TSC-deadline and counting modes. */
	if (which == LAPIC_LVT_TIMER && timer_mode(l) != old_mode) {
		timer_stop(l);
		l->s.timer_initial = 0;
	}
}

/* ---- register access -------------------------------------------------------------- */
static bool is_lvt(uint32_t offset, enum vdev_lapic_lvt *which)
{
	if (offset < APIC_LVT_TIMER || offset > APIC_LVT_ERROR)
		return false;
	*which = (enum vdev_lapic_lvt)((offset - APIC_LVT_TIMER) / APIC_REG_STRIDE);
	return true;
}

static int check_access(uint32_t offset, unsigned size, const char **why)
{
	if (offset >= APIC_PAGE_BYTES)
		return refuse(why, "local APIC: access outside its page", FERR_RANGE);
	if (size != 4 || offset % APIC_REG_STRIDE)
		return refuse(why, "local APIC: access not 32 bits wide at a register's start", FERR_NOTSUP);
	return 0;
}

int vdev_lapic_read(struct vdev_lapic *l, uint32_t offset, unsigned size, uint64_t now,
		    uint32_t *value, const char **why)
{
	enum vdev_lapic_lvt which;
	int err = check_access(offset, size, why);

	if (err)
		return err;
	if (offset >= APIC_ISR && offset < APIC_ISR + APIC_VECTOR_REGS * APIC_REG_STRIDE) {
		*value = l->s.isr[(offset - APIC_ISR) / APIC_REG_STRIDE];
		return 0;
	}
	if (offset >= APIC_TMR && offset < APIC_TMR + APIC_VECTOR_REGS * APIC_REG_STRIDE) {
		*value = l->s.tmr[(offset - APIC_TMR) / APIC_REG_STRIDE];
		return 0;
	}
	if (offset >= APIC_IRR && offset < APIC_IRR + APIC_VECTOR_REGS * APIC_REG_STRIDE) {
		*value = l->s.irr[(offset - APIC_IRR) / APIC_REG_STRIDE];
		return 0;
	}
	if (is_lvt(offset, &which)) {
		*value = l->s.lvt[which];
		return 0;
	}
	switch (offset) {
	case APIC_ID:      *value = l->s.id; break;
	case APIC_VERSION:
		*value = APIC_VERSION_INTEGRATED |
			 (uint32_t)(LAPIC_LVT_COUNT - 1) << APIC_VERSION_MAX_LVT_SHIFT;
		break;
	case APIC_TPR:     *value = l->s.tpr; break;
	case APIC_APR:     *value = 0; break;   /* no bus arbitration on one vCPU */
	case APIC_PPR:     *value = ppr(l); break;
	case APIC_EOI:     *value = 0; break;   /* write-only */
	case APIC_RRD:     *value = 0; break;
	case APIC_LDR:     *value = l->s.ldr; break;
	case APIC_DFR:     *value = l->s.dfr; break;
	case APIC_SVR:     *value = l->s.svr; break;
	case APIC_ESR:     *value = l->s.esr; break;
	case APIC_ICR_LOW: *value = l->s.icr_low; break;   /* delivery status: always idle */
	case APIC_ICR_HIGH: *value = l->s.icr_high; break;
	case APIC_TIMER_INITIAL: *value = l->s.timer_initial; break;
	case APIC_TIMER_CURRENT: *value = timer_current(l, now); break;
	case APIC_TIMER_DIVIDE:  *value = l->s.timer_divide; break;
	default:
		record_error(l, APIC_ESR_ILLEGAL_REGISTER);
		*value = 0;
		break;
	}
	return 0;
}

int vdev_lapic_write(struct vdev_lapic *l, uint32_t offset, unsigned size, uint32_t value,
		     uint64_t now, const char **why)
{
	enum vdev_lapic_lvt which;
	int err = check_access(offset, size, why);

	if (err)
		return err;
	if (is_lvt(offset, &which)) {
		write_lvt(l, which, value);
		return 0;
	}
	switch (offset) {
	case APIC_TPR:
		l->s.tpr = value & APIC_PRIORITY_MASK;
		break;
	case APIC_EOI:
		eoi(l);
		break;
	case APIC_LDR:
		l->s.ldr = value & (0xffu << APIC_LDR_SHIFT);
		break;
	case APIC_DFR:
		l->s.dfr = (value & (0xfu << APIC_DFR_MODEL_SHIFT)) | APIC_DFR_RESERVED_ONES;
		break;
	case APIC_SVR:
		/* Focus checking does not exist on one vCPU; EOI-broadcast suppression is not
		 * offered (version bit 24 clear): both bits read as written only when legal. */
		l->s.svr = value & (APIC_SVR_VECTOR_MASK | APIC_SVR_ENABLE | APIC_SVR_FOCUS_OFF);
		if (!sw_enabled(l))
			for (int i = 0; i < LAPIC_LVT_COUNT; i++)
				l->s.lvt[i] |= APIC_LVT_MASKED;
		break;
	case APIC_ESR:
		l->s.esr = l->s.esr_pending;   /* a write latches the errors since the last one */
		l->s.esr_pending = 0;
		break;
	case APIC_ICR_LOW:
		l->s.icr_low = value & APIC_ICR_WRITABLE;
		send_ipi(l);
		break;
	case APIC_ICR_HIGH:
		l->s.icr_high = value & (0xffu << APIC_DEST_SHIFT);
		break;
	case APIC_TIMER_INITIAL:
		if (timer_mode(l) == APIC_TIMER_TSC_DEADLINE)
			break;   /* ignored in TSC-deadline mode (SDM 11.5.4.1) */
		l->s.timer_initial = value;
		timer_start_count(l, now);
		break;
	case APIC_TIMER_DIVIDE:
		l->s.timer_divide = value & APIC_DIVIDE_MASK;
		break;
	case APIC_ID: case APIC_VERSION: case APIC_APR: case APIC_PPR: case APIC_RRD:
	case APIC_TIMER_CURRENT:
		break;   /* read-only: the write is dropped */
	default:
		if (offset >= APIC_ISR && offset < APIC_IRR + APIC_VECTOR_REGS * APIC_REG_STRIDE)
			break;   /* ISR, TMR, IRR are read-only */
		record_error(l, APIC_ESR_ILLEGAL_REGISTER);
		break;
	}
	return 0;
}

/* ---- IA32_APIC_BASE (SDM 11.4.4) ------------------------------------------------------- */
uint64_t vdev_lapic_read_apic_base(const struct vdev_lapic *l)
{
	return l->s.apic_base;
}

int vdev_lapic_write_apic_base(struct vdev_lapic *l, uint64_t value, const char **why)
{
	const uint64_t known = APIC_BASE_ADDRESS_MASK | APIC_BASE_BSP | APIC_BASE_X2APIC |
			       APIC_BASE_ENABLE;
	bool was_enabled = hw_enabled(l);

	if (value & ~known)
		return refuse(why, "IA32_APIC_BASE: reserved bits set", FERR_INVAL);
	if (value & APIC_BASE_X2APIC)
		return refuse(why, "IA32_APIC_BASE: x2APIC mode is not offered", FERR_NOTSUP);
	if ((value & APIC_BASE_ADDRESS_MASK) != APIC_DEFAULT_BASE)
		return refuse(why, "IA32_APIC_BASE: the APIC cannot be moved", FERR_NOTSUP);
	l->s.apic_base = (l->s.apic_base & APIC_BASE_BSP) | (value & ~APIC_BASE_BSP);
	if (was_enabled != hw_enabled(l))
		reset_registers(l);
	return 0;
}

int vdev_lapic_check_state(const struct vdev_lapic_state *s, const char **why)
{
	const uint64_t base_bits = APIC_BASE_ADDRESS_MASK | APIC_BASE_BSP | APIC_BASE_ENABLE;

	if ((s->apic_base & ~base_bits) || (s->apic_base & APIC_BASE_ADDRESS_MASK) != APIC_DEFAULT_BASE)
		return refuse(why, "local APIC: bad IA32_APIC_BASE", FERR_INVAL);
	if (s->tsc_per_tick == 0 || s->tsc_per_tick > VDEV_LAPIC_MAX_TSC_PER_TICK)
		return refuse(why, "local APIC: timer clock out of range", FERR_INVAL);
	if (s->id & ~(0xffu << APIC_ID_SHIFT) || s->ldr & ~(0xffu << APIC_LDR_SHIFT))
		return refuse(why, "local APIC: reserved bits in ID or LDR", FERR_INVAL);
	if ((s->dfr & APIC_DFR_RESERVED_ONES) != APIC_DFR_RESERVED_ONES)
		return refuse(why, "local APIC: bad DFR", FERR_INVAL);
	if (s->tpr & ~APIC_PRIORITY_MASK || s->timer_divide & ~APIC_DIVIDE_MASK ||
	    s->icr_low & ~APIC_ICR_WRITABLE || s->icr_high & ~(0xffu << APIC_DEST_SHIFT) ||
	    s->svr & ~(APIC_SVR_VECTOR_MASK | APIC_SVR_ENABLE | APIC_SVR_FOCUS_OFF))
		return refuse(why, "local APIC: reserved bits in a register", FERR_INVAL);
	for (int i = 0; i < LAPIC_LVT_COUNT; i++)
		if (s->lvt[i] & ~(lvt_writable[i] | APIC_LVT_DELIVERY_STATUS | APIC_LVT_REMOTE_IRR))
			return refuse(why, "local APIC: reserved bits in an LVT entry", FERR_INVAL);
	if (((s->lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK) >> APIC_LVT_TIMER_MODE_SHIFT) == 3u)
		return refuse(why, "local APIC: reserved timer mode", FERR_INVAL);
	if (s->timer_armed > 1 || s->nmi_pending > 1)
		return refuse(why, "local APIC: a flag is neither 0 nor 1", FERR_INVAL);
	if (!s->timer_armed && (s->timer_deadline || s->timer_period))
		return refuse(why, "local APIC: a stopped timer with a deadline", FERR_INVAL);
	if (s->timer_period && (uint32_t)((s->lvt[LAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK) >>
					  APIC_LVT_TIMER_MODE_SHIFT) != APIC_TIMER_PERIODIC)
		return refuse(why, "local APIC: a period outside periodic mode", FERR_INVAL);
	for (unsigned i = 0; i < sizeof(s->reserved); i++)
		if (s->reserved[i])
			return refuse(why, "local APIC: reserved bytes set", FERR_INVAL);
	/* Vectors 0-15 never enter IRR or ISR (accept() refuses them). */
	if ((s->irr[0] | s->isr[0] | s->tmr[0]) & 0xffffu)
		return refuse(why, "local APIC: a reserved vector (0-15) pending or in service", FERR_INVAL);
	return 0;
}
