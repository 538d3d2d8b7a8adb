/* Host tests of the guests' local APIC model (kernel/vdev/lapic.c): registers, priority,
 * EOI, IPIs to self, errors, the timer in its three modes, IA32_APIC_BASE and state
 * validation. Time is whatever the test says it is. */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/lapic.h"

#define TSC_PER_TICK 10u

static struct vdev_lapic apic;
static uint8_t eoi_vectors[16];
static int eoi_count;

static void on_eoi(void *ctx, uint8_t vector)
{
	(void)ctx;
	if (eoi_count < 16)
		eoi_vectors[eoi_count] = vector;
	eoi_count++;
}

static uint32_t rd(uint32_t offset, uint64_t now)
{
	uint32_t v = 0xdeadbeef;
	CHECK_EQ_I(vdev_lapic_read(&apic, offset, 4, now, &v, NULL), 0);
	return v;
}

static void wr(uint32_t offset, uint32_t value, uint64_t now)
{
	CHECK_EQ_I(vdev_lapic_write(&apic, offset, 4, value, now, NULL), 0);
}

/* Power-up, then software-enabled with spurious vector 0xFF, as Linux does early. */
static void fresh(void)
{
	eoi_count = 0;
	CHECK_EQ_I(vdev_lapic_init(&apic, 0, TSC_PER_TICK, on_eoi, NULL), 0);
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff, 0);
}

TEST(power_up_state)
{
	CHECK_EQ_I(vdev_lapic_init(&apic, 3, TSC_PER_TICK, NULL, NULL), 0);
	CHECK_EQ_U(rd(APIC_ID, 0), 3u << 24);
	CHECK_EQ_U(rd(APIC_VERSION, 0), 0x00050014);
	CHECK_EQ_U(rd(APIC_SVR, 0), 0xff);
	CHECK_EQ_U(rd(APIC_DFR, 0), 0xffffffff);
	CHECK_EQ_U(rd(APIC_TPR, 0), 0);
	for (uint32_t off = APIC_LVT_TIMER; off <= APIC_LVT_ERROR; off += 0x10)
		CHECK_EQ_U(rd(off, 0), APIC_LVT_MASKED);
	CHECK_EQ_U(vdev_lapic_read_apic_base(&apic), 0xfee00000ull | APIC_BASE_BSP | APIC_BASE_ENABLE);
	CHECK_EQ_I(vdev_lapic_init(&apic, 0, 0, NULL, NULL), FERR_RANGE);
	CHECK_EQ_I(vdev_lapic_init(&apic, 0, VDEV_LAPIC_MAX_TSC_PER_TICK + 1, NULL, NULL), FERR_RANGE);
}

TEST(registers_keep_what_is_writable)
{
	fresh();
	wr(APIC_ID, 0x55000000, 0);                /* read-only here */
	CHECK_EQ_U(rd(APIC_ID, 0), 0);
	wr(APIC_TPR, 0x1ff, 0);
	CHECK_EQ_U(rd(APIC_TPR, 0), 0xff);
	wr(APIC_LDR, 0x01ffffff, 0);
	CHECK_EQ_U(rd(APIC_LDR, 0), 0x01000000);
	wr(APIC_DFR, 0x0, 0);
	CHECK_EQ_U(rd(APIC_DFR, 0), 0x0fffffff);
	wr(APIC_LVT_LINT0, 0xffffffff, 0);
	CHECK_EQ_U(rd(APIC_LVT_LINT0, 0), 0x1a7ff);   /* no delivery status, no remote IRR */
	wr(APIC_LVT_ERROR, 0xffffffff, 0);
	CHECK_EQ_U(rd(APIC_LVT_ERROR, 0), 0x100ff);
	wr(APIC_LVT_TIMER, 0xffffffff, 0);            /* mode 3 is reserved: one-shot */
	CHECK_EQ_U(rd(APIC_LVT_TIMER, 0), 0x100ff);
	wr(APIC_TIMER_DIVIDE, 0xff, 0);
	CHECK_EQ_U(rd(APIC_TIMER_DIVIDE, 0), 0xb);
	wr(APIC_ICR_HIGH, 0xffffffff, 0);
	CHECK_EQ_U(rd(APIC_ICR_HIGH, 0), 0xff000000);
	/* Reserved registers read as zero and set ESR's illegal-register bit. */
	CHECK_EQ_U(rd(0x040, 0), 0);
	wr(APIC_ESR, 0, 0);
	CHECK_EQ_U(rd(APIC_ESR, 0), APIC_ESR_ILLEGAL_REGISTER);
	wr(APIC_ESR, 0, 0);
	CHECK_EQ_U(rd(APIC_ESR, 0), 0);
}

TEST(accesses_other_than_aligned_dwords_are_refused)
{
	uint32_t v;
	const char *why = NULL;

	fresh();
	CHECK_EQ_I(vdev_lapic_read(&apic, APIC_TPR, 1, 0, &v, &why), FERR_NOTSUP);
	CHECK(why != NULL);
	CHECK_EQ_I(vdev_lapic_read(&apic, APIC_TPR + 4, 4, 0, &v, &why), FERR_NOTSUP);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_EOI, 8, 0, 0, &why), FERR_NOTSUP);
	CHECK_EQ_I(vdev_lapic_write(&apic, 0x1000, 4, 0, 0, &why), FERR_RANGE);
}

TEST(priority_ppr_and_eoi)
{
	fresh();
	vdev_lapic_accept(&apic, 0x31, false);
	vdev_lapic_accept(&apic, 0x52, true);
	CHECK_EQ_I(vdev_lapic_pending(&apic), 0x52);
	CHECK_EQ_U(rd(APIC_IRR + 0x10, 0), 1u << 0x11);    /* 0x31: word 1, bit 17 */
	CHECK_EQ_U(rd(APIC_TMR + 0x20, 0), 1u << 0x12);    /* 0x52 level */
	wr(APIC_TPR, 0x60, 0);                              /* blocks class 5 and below */
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
	wr(APIC_TPR, 0x50, 0);                              /* class 5 is still blocked */
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
	wr(APIC_TPR, 0x4f, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x52);
	CHECK_EQ_U(rd(APIC_PPR, 0), 0x50);                  /* ISR class beats TPR 0x4f */
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);          /* 0x31 below the in-service class */
	vdev_lapic_accept(&apic, 0x61, false);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x61);           /* nests above */
	wr(APIC_EOI, 0, 0);                                 /* ends 0x61: edge, no report */
	CHECK_EQ_I(eoi_count, 0);
	wr(APIC_EOI, 0, 0);                                 /* ends 0x52: level, reported */
	CHECK_EQ_I(eoi_count, 1);
	CHECK_EQ_U(eoi_vectors[0], 0x52);
	CHECK_EQ_U(rd(APIC_TMR + 0x20, 0), 0);
	CHECK_EQ_U(rd(APIC_PPR, 0), 0x4f);
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);             /* TPR class 4 holds 0x31 back */
	wr(APIC_TPR, 0, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x31);
	wr(APIC_EOI, 0, 0);
	wr(APIC_EOI, 0, 0);                                 /* nothing in service: harmless */
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);
	CHECK_EQ_I(eoi_count, 1);
}

TEST(disabled_apic_accepts_nothing_and_masks_its_lvt)
{
	fresh();
	wr(APIC_LVT_TIMER, 0x40, 0);
	wr(APIC_SVR, 0xff, 0);                          /* software-disable */
	CHECK(rd(APIC_LVT_TIMER, 0) & APIC_LVT_MASKED);
	wr(APIC_LVT_TIMER, 0x40, 0);                    /* cannot unmask while disabled */
	CHECK(rd(APIC_LVT_TIMER, 0) & APIC_LVT_MASKED);
	vdev_lapic_accept(&apic, 0x40, false);
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
	wr(APIC_SVR, APIC_SVR_ENABLE | 0xff, 0);
	vdev_lapic_accept(&apic, 0x40, false);
	CHECK_EQ_I(vdev_lapic_pending(&apic), 0x40);
}

TEST(illegal_vectors_are_errors)
{
	fresh();
	wr(APIC_LVT_ERROR, 0xfe, 0);
	vdev_lapic_accept(&apic, 7, false);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xfe);        /* the error interrupt */
	wr(APIC_ESR, 0, 0);
	CHECK_EQ_U(rd(APIC_ESR, 0), APIC_ESR_RECEIVE_ILLEGAL_VECTOR);
	wr(APIC_ICR_LOW, (APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT) | 3, 0);
	wr(APIC_ESR, 0, 0);
	CHECK_EQ_U(rd(APIC_ESR, 0), APIC_ESR_SEND_ILLEGAL_VECTOR);
}

TEST(ipis_to_self)
{
	fresh();
	/* Shorthand self, fixed (irq_work's self-IPI). */
	wr(APIC_ICR_LOW, (APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT) | 0xf6, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xf6);
	wr(APIC_EOI, 0, 0);
	CHECK_EQ_U(rd(APIC_ICR_LOW, 0) & APIC_ICR_BUSY, 0);   /* always idle */
	/* Physical destination: our ID 0 hits, 1 misses; broadcast hits. */
	wr(APIC_ICR_HIGH, 0, 0);
	wr(APIC_ICR_LOW, 0x41, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x41);
	wr(APIC_EOI, 0, 0);
	wr(APIC_ICR_HIGH, 1u << 24, 0);
	wr(APIC_ICR_LOW, 0x42, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);
	/* Logical flat: LDR bit 0 set, destination mask 0x01. */
	wr(APIC_LDR, 1u << 24, 0);
	wr(APIC_ICR_LOW, APIC_ICR_LOGICAL | 0x43, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x43);
	wr(APIC_EOI, 0, 0);
	/* All excluding self reaches no one. */
	wr(APIC_ICR_LOW, (APIC_SHORTHAND_OTHERS << APIC_ICR_SHORTHAND_SHIFT) | 0x44, 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);
	/* An NMI to self is left for the run loop. */
	wr(APIC_ICR_LOW, (APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT) |
		 (APIC_DELIVERY_NMI << APIC_ICR_DELIVERY_SHIFT), 0);
	CHECK_EQ_U(apic.s.nmi_pending, 1);
	/* INIT to self: nothing. */
	wr(APIC_ICR_LOW, (APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT) |
		 (APIC_DELIVERY_INIT << APIC_ICR_DELIVERY_SHIFT), 0);
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
}

TEST(destination_matching)
{
	fresh();
	CHECK(vdev_lapic_matches(&apic, 0, false));
	CHECK(vdev_lapic_matches(&apic, 0xff, false));
	CHECK(!vdev_lapic_matches(&apic, 2, false));
	CHECK(!vdev_lapic_matches(&apic, 0x01, true));    /* LDR 0 */
	wr(APIC_LDR, 0x04u << 24, 0);
	CHECK(vdev_lapic_matches(&apic, 0x0c, true));
	CHECK(!vdev_lapic_matches(&apic, 0x03, true));
	CHECK(vdev_lapic_matches(&apic, 0xff, true));
	wr(APIC_DFR, 0x0fffffff, 0);                      /* cluster model */
	wr(APIC_LDR, 0x21u << 24, 0);                     /* cluster 2, member 1 */
	CHECK(vdev_lapic_matches(&apic, 0x21, true));
	CHECK(vdev_lapic_matches(&apic, 0x23, true));
	CHECK(!vdev_lapic_matches(&apic, 0x11, true));
	CHECK(!vdev_lapic_matches(&apic, 0x22, true));
}

TEST(one_shot_timer)
{
	fresh();
	wr(APIC_TIMER_DIVIDE, 0x3, 1000);                 /* divide by 16 */
	wr(APIC_LVT_TIMER, 0xec, 1000);
	wr(APIC_TIMER_INITIAL, 100, 1000);                /* 100 x 16 x 10 TSC cycles */
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 1000 + 16000);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 1000), 100);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 1000 + 8000), 50);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 1000 + 8001), 50);   /* rounds up: not yet 49 */
	CHECK(!vdev_lapic_advance(&apic, 1000 + 15999));
	CHECK(vdev_lapic_advance(&apic, 1000 + 16000));
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xec);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 20000), 0);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
	CHECK(!vdev_lapic_advance(&apic, 99999));
	/* A zero initial count stops it; a new count restarts it. */
	wr(APIC_TIMER_INITIAL, 10, 50000);
	wr(APIC_TIMER_INITIAL, 0, 50001);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
	/* Masked: counts, but never needs the run loop and delivers nothing. */
	wr(APIC_LVT_TIMER, APIC_LVT_MASKED | 0xec, 60000);
	wr(APIC_TIMER_INITIAL, 10, 60000);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 60000 + 800), 5);
	CHECK(!vdev_lapic_advance(&apic, 70000));
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
	/* Divide by 1 (value 0b1011). */
	wr(APIC_LVT_TIMER, 0xec, 0);
	wr(APIC_TIMER_DIVIDE, 0xb, 0);
	wr(APIC_TIMER_INITIAL, 7, 100);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 100 + 70);
}

TEST(periodic_timer_coalesces_missed_periods)
{
	fresh();
	wr(APIC_TIMER_DIVIDE, 0x0, 0);                    /* divide by 2: 20 TSC per count */
	wr(APIC_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_MODE_SHIFT) | 0xec, 0);
	wr(APIC_TIMER_INITIAL, 50, 0);                    /* period 1000 */
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 1000);
	CHECK(vdev_lapic_advance(&apic, 1000));
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 2000);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xec);
	wr(APIC_EOI, 0, 1000);
	/* Three and a half periods late: one interrupt, the next deadline past now. */
	CHECK(vdev_lapic_advance(&apic, 5500));
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 6000);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xec);
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);
	/* The current count runs down each period, also when read before advance(). */
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 5500), 25);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 6200), 40);
	/* Switching mode disarms and clears the count. */
	wr(APIC_LVT_TIMER, 0xec, 7000);
	CHECK_EQ_U(rd(APIC_TIMER_INITIAL, 7000), 0);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
}

TEST(tsc_deadline_timer)
{
	fresh();
	vdev_lapic_write_tsc_deadline(&apic, 5000);      /* ignored outside deadline mode */
	CHECK_EQ_U(vdev_lapic_read_tsc_deadline(&apic), 0);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
	wr(APIC_LVT_TIMER, (APIC_TIMER_TSC_DEADLINE << APIC_LVT_TIMER_MODE_SHIFT) | 0xef, 0);
	wr(APIC_TIMER_INITIAL, 100, 0);                   /* ignored in deadline mode */
	CHECK_EQ_U(rd(APIC_TIMER_INITIAL, 0), 0);
	vdev_lapic_write_tsc_deadline(&apic, 5000);
	CHECK_EQ_U(vdev_lapic_read_tsc_deadline(&apic), 5000);
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), 5000);
	CHECK_EQ_U(rd(APIC_TIMER_CURRENT, 100), 0);       /* no count in deadline mode */
	CHECK(!vdev_lapic_advance(&apic, 4999));
	CHECK(vdev_lapic_advance(&apic, 5000));
	CHECK_EQ_U(vdev_lapic_read_tsc_deadline(&apic), 0);   /* reads 0 once fired */
	CHECK_EQ_I(vdev_lapic_take(&apic), 0xef);
	vdev_lapic_write_tsc_deadline(&apic, 9000);
	vdev_lapic_write_tsc_deadline(&apic, 0);           /* disarms */
	CHECK_EQ_U(vdev_lapic_next_deadline(&apic), UINT64_MAX);
	vdev_lapic_write_tsc_deadline(&apic, 10);          /* in the past: fires at once */
	CHECK(vdev_lapic_advance(&apic, 6000));
}

TEST(apic_base_msr)
{
	const char *why;

	fresh();
	uint64_t base = vdev_lapic_read_apic_base(&apic);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, base | 1, &why), FERR_INVAL);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, base | APIC_BASE_X2APIC, &why), FERR_NOTSUP);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, (base & ~APIC_BASE_ADDRESS_MASK) | 0xfed00000, &why),
		   FERR_NOTSUP);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, base, &why), 0);
	/* Disabling resets the registers; the BSP bit stays. */
	wr(APIC_TPR, 0x20, 0);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, base & ~(APIC_BASE_ENABLE | APIC_BASE_BSP), &why), 0);
	CHECK(vdev_lapic_read_apic_base(&apic) & APIC_BASE_BSP);
	vdev_lapic_accept(&apic, 0x40, false);
	CHECK_EQ_I(vdev_lapic_pending(&apic), -1);
	CHECK_EQ_I(vdev_lapic_write_apic_base(&apic, base, &why), 0);
	CHECK_EQ_U(rd(APIC_TPR, 0), 0);
	CHECK_EQ_U(rd(APIC_SVR, 0), 0xff);
}

TEST(state_validation)
{
	const char *why;
	struct vdev_lapic_state s;

	fresh();
	wr(APIC_LVT_TIMER, (APIC_TIMER_PERIODIC << APIC_LVT_TIMER_MODE_SHIFT) | 0xec, 0);
	wr(APIC_TIMER_INITIAL, 50, 0);
	vdev_lapic_accept(&apic, 0x30, true);
	CHECK_EQ_I(vdev_lapic_check_state(&apic.s, &why), 0);
	s = apic.s; s.apic_base |= APIC_BASE_X2APIC;   CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.apic_base ^= 0x100000;           CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.tsc_per_tick = 0;                CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.id = 1;                          CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.dfr = 0;                         CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.tpr = 0x100;                     CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.lvt[LAPIC_LVT_ERROR] |= 0x700;   CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.lvt[LAPIC_LVT_TIMER] |= 3u << 17; CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.timer_armed = 2;                 CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.timer_armed = 0;                 CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.lvt[LAPIC_LVT_TIMER] &= ~APIC_LVT_TIMER_MODE_MASK;
	CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);   /* a period outside periodic mode */
	s = apic.s; s.irr[0] = 1;                      CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	s = apic.s; s.reserved[3] = 1;                 CHECK_EQ_I(vdev_lapic_check_state(&s, &why), FERR_INVAL);
	/* A restored state runs on: same deadline, same pending vector. */
	struct vdev_lapic copy;
	CHECK_EQ_I(vdev_lapic_init(&copy, 0, TSC_PER_TICK, on_eoi, NULL), 0);
	copy.s = apic.s;
	CHECK_EQ_U(vdev_lapic_next_deadline(&copy), vdev_lapic_next_deadline(&apic));
	CHECK_EQ_I(vdev_lapic_pending(&copy), 0x30);
}

int main(void)
{
	return run_tests();
}
