/* Host tests of the guests' I/O APIC model (kernel/vdev/ioapic.c): indirect register
 * access, edge and level pins, remote IRR and EOI, and with the local APIC model the
 * path Linux's COM1 interrupt takes. */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/ioapic.h"
#include "kernel/vdev/lapic.h"

static struct vdev_ioapic io;
static struct vdev_ioapic_msg sent[16];
static int sent_count;

static void collect(void *ctx, const struct vdev_ioapic_msg *msg)
{
	(void)ctx;
	if (sent_count < 16)
		sent[sent_count] = *msg;
	sent_count++;
}

static void wr(uint32_t reg, uint32_t value)
{
	CHECK_EQ_I(vdev_ioapic_write(&io, IOAPIC_REGSEL, 4, reg, NULL), 0);
	CHECK_EQ_I(vdev_ioapic_write(&io, IOAPIC_WINDOW, 4, value, NULL), 0);
}

static uint32_t rd(uint32_t reg)
{
	uint32_t v = 0xdeadbeef;
	CHECK_EQ_I(vdev_ioapic_write(&io, IOAPIC_REGSEL, 4, reg, NULL), 0);
	CHECK_EQ_I(vdev_ioapic_read(&io, IOAPIC_WINDOW, 4, &v, NULL), 0);
	return v;
}

static void fresh(void)
{
	sent_count = 0;
	vdev_ioapic_init(&io, 0, collect, NULL);
}

/* Redirection entry for pin: low dword at 0x10 + 2 pin, high at 0x11 + 2 pin. */
static void route(unsigned pin, uint32_t low, uint8_t dest)
{
	wr(IOAPIC_REG_REDIR + 2 * pin + 1, (uint32_t)dest << 24);
	wr(IOAPIC_REG_REDIR + 2 * pin, low);
}

TEST(identification_registers)
{
	fresh();
	CHECK_EQ_U(rd(IOAPIC_REG_VERSION), 0x00170011);
	CHECK_EQ_U(rd(IOAPIC_REG_ID), 0);
	wr(IOAPIC_REG_ID, 0xffffffff);
	CHECK_EQ_U(rd(IOAPIC_REG_ID), 0x0f000000);
	CHECK_EQ_U(rd(IOAPIC_REG_ARB), 0x0f000000);
	wr(IOAPIC_REG_VERSION, 0);
	CHECK_EQ_U(rd(IOAPIC_REG_VERSION), 0x00170011);
	CHECK_EQ_U(rd(0x03), 0);
	CHECK_EQ_U(rd(0x40), 0);                    /* past the table */
	uint32_t v;
	CHECK_EQ_I(vdev_ioapic_read(&io, IOAPIC_REGSEL, 4, &v, NULL), 0);
	CHECK_EQ_U(v, 0x40);
	/* Every entry starts masked. */
	for (unsigned pin = 0; pin < VDEV_IOAPIC_PINS; pin++)
		CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 2 * pin), IOAPIC_REDIR_MASKED);
}

TEST(entries_keep_their_writable_bits)
{
	fresh();
	wr(IOAPIC_REG_REDIR + 2 * 5, 0xffffffff);
	CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 2 * 5), 0x1afff);      /* no delivery status, no remote IRR */
	wr(IOAPIC_REG_REDIR + 2 * 5 + 1, 0xffffffff);
	CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 2 * 5 + 1), 0xff000000);
}

TEST(other_accesses_are_refused)
{
	uint32_t v;
	const char *why = NULL;

	fresh();
	CHECK_EQ_I(vdev_ioapic_read(&io, IOAPIC_WINDOW, 1, &v, &why), FERR_NOTSUP);
	CHECK(why != NULL);
	CHECK_EQ_I(vdev_ioapic_write(&io, 0x40, 4, 0, &why), FERR_NOTSUP);   /* no EOI register in 0x11 */
	CHECK_EQ_I(vdev_ioapic_write(&io, 0x1000, 4, 0, &why), FERR_RANGE);
}

TEST(edge_pins_deliver_on_rising_edges_while_unmasked)
{
	fresh();
	route(4, 0x31 | IOAPIC_REDIR_LOGICAL, 0x01);
	vdev_ioapic_set_irq(&io, 4, true);
	CHECK_EQ_I(sent_count, 1);
	CHECK_EQ_U(sent[0].vector, 0x31);
	CHECK_EQ_U(sent[0].dest, 0x01);
	CHECK(sent[0].logical);
	CHECK(!sent[0].level);
	CHECK_EQ_U(sent[0].delivery_mode, APIC_DELIVERY_FIXED);
	vdev_ioapic_set_irq(&io, 4, true);              /* still high: no new edge */
	CHECK_EQ_I(sent_count, 1);
	vdev_ioapic_set_irq(&io, 4, false);
	vdev_ioapic_set_irq(&io, 4, true);
	CHECK_EQ_I(sent_count, 2);
	CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 8) & IOAPIC_REDIR_REMOTE_IRR, 0);
	/* Masked: the edge is lost, and unmasking does not bring it back. */
	vdev_ioapic_set_irq(&io, 4, false);
	route(4, 0x31 | IOAPIC_REDIR_MASKED, 0);
	vdev_ioapic_set_irq(&io, 4, true);
	route(4, 0x31, 0);
	CHECK_EQ_I(sent_count, 2);
	vdev_ioapic_set_irq(&io, 99, true);             /* no such pin */
	CHECK_EQ_I(sent_count, 2);
}

TEST(level_pins_hold_remote_irr_until_eoi)
{
	fresh();
	route(16, 0x41 | IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_POLARITY_LOW, 0);
	vdev_ioapic_set_irq(&io, 16, true);
	CHECK_EQ_I(sent_count, 1);
	CHECK(sent[0].level);
	CHECK(rd(IOAPIC_REG_REDIR + 32) & IOAPIC_REDIR_REMOTE_IRR);
	vdev_ioapic_set_irq(&io, 16, true);              /* remote IRR: nothing more */
	CHECK_EQ_I(sent_count, 1);
	vdev_ioapic_eoi(&io, 0x99);                      /* another vector: nothing */
	CHECK_EQ_I(sent_count, 1);
	vdev_ioapic_eoi(&io, 0x41);                      /* still asserted: again */
	CHECK_EQ_I(sent_count, 2);
	vdev_ioapic_set_irq(&io, 16, false);
	vdev_ioapic_eoi(&io, 0x41);                      /* line low: remote IRR clears, no delivery */
	CHECK_EQ_I(sent_count, 2);
	CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 32) & IOAPIC_REDIR_REMOTE_IRR, 0);
	/* Masked while asserted, delivered on unmask. */
	route(16, 0x41 | IOAPIC_REDIR_LEVEL | IOAPIC_REDIR_MASKED, 0);
	vdev_ioapic_set_irq(&io, 16, true);
	CHECK_EQ_I(sent_count, 2);
	route(16, 0x41 | IOAPIC_REDIR_LEVEL, 0);
	CHECK_EQ_I(sent_count, 3);
	/* Flipping the pin to edge clears a stuck remote IRR. */
	route(16, 0x41, 0);
	CHECK_EQ_U(rd(IOAPIC_REG_REDIR + 32) & IOAPIC_REDIR_REMOTE_IRR, 0);
}

TEST(state_validation)
{
	const char *why;
	struct vdev_ioapic_state s;

	fresh();
	route(3, 0x41 | IOAPIC_REDIR_LEVEL, 0);
	vdev_ioapic_set_irq(&io, 3, true);
	CHECK_EQ_I(vdev_ioapic_check_state(&io.s, &why), 0);
	s = io.s; s.id = 1;                       CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);
	s = io.s; s.regsel = 0x100;               CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);
	s = io.s; s.asserted = 1u << 24;          CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);
	s = io.s; s.redir[0] |= 1ull << 20;       CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);
	s = io.s; s.redir[3] &= ~IOAPIC_REDIR_LEVEL;
	CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);   /* remote IRR on an edge pin */
	s = io.s; s.reserved = 1;                 CHECK_EQ_I(vdev_ioapic_check_state(&s, &why), FERR_INVAL);
}

/* ---- with the local APIC: Linux's COM1 (GSI 4, vector 0x21, logical flat to CPU 0) --- */
static struct vdev_lapic apic;

static void to_lapic(void *ctx, const struct vdev_ioapic_msg *msg)
{
	(void)ctx;
	if (vdev_lapic_matches(&apic, msg->dest, msg->logical) &&
	    (msg->delivery_mode == APIC_DELIVERY_FIXED || msg->delivery_mode == APIC_DELIVERY_LOWEST))
		vdev_lapic_accept(&apic, msg->vector, msg->level);
}

static void lapic_eoi(void *ctx, uint8_t vector)
{
	vdev_ioapic_eoi(ctx, vector);
}

TEST(an_interrupt_from_pin_to_eoi)
{
	CHECK_EQ_I(vdev_lapic_init(&apic, 0, 10, lapic_eoi, &io), 0);
	vdev_ioapic_init(&io, 0, to_lapic, NULL);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_SVR, 4, APIC_SVR_ENABLE | 0xff, 0, NULL), 0);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_LDR, 4, 1u << 24, 0, NULL), 0);
	route(4, 0x21 | IOAPIC_REDIR_LOGICAL, 0x01);
	route(9, 0x29 | IOAPIC_REDIR_LOGICAL | IOAPIC_REDIR_LEVEL, 0x01);
	vdev_ioapic_set_irq(&io, 4, true);
	vdev_ioapic_set_irq(&io, 9, true);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x29);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_EOI, 4, 0, 0, NULL), 0);
	/* The level line is still asserted: the EOI re-delivers it through the I/O APIC. */
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x29);
	vdev_ioapic_set_irq(&io, 9, false);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_EOI, 4, 0, 0, NULL), 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), 0x21);
	CHECK_EQ_I(vdev_lapic_write(&apic, APIC_EOI, 4, 0, 0, NULL), 0);
	CHECK_EQ_I(vdev_lapic_take(&apic), -1);
	CHECK_EQ_U(io.s.redir[9] & IOAPIC_REDIR_REMOTE_IRR, 0);
}

int main(void)
{
	return run_tests();
}
