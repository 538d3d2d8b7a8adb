/* The guests' I/O APIC model (contract in ioapic.h; Intel 82093AA data sheet). */
#include "kernel/vdev/ioapic.h"

#include <string.h>

#include "kernel/lib/errors.h"

#define REDIR_HIGH_SHIFT 32
#define LOW_DWORD 0xffffffffull

static int refuse(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

void vdev_ioapic_init(struct vdev_ioapic *io, uint8_t id, vdev_ioapic_deliver_fn deliver, void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->s.id = ((uint32_t)id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
	for (int pin = 0; pin < VDEV_IOAPIC_PINS; pin++)
		io->s.redir[pin] = IOAPIC_REDIR_MASKED;
	io->deliver = deliver;
	io->ctx = ctx;
}

static void deliver(struct vdev_ioapic *io, unsigned pin)
{
	uint64_t e = io->s.redir[pin];
	struct vdev_ioapic_msg msg = {
		.vector = (uint8_t)(e & IOAPIC_REDIR_VECTOR_MASK),
		.dest = (uint8_t)(e >> IOAPIC_REDIR_DEST_SHIFT),
		.delivery_mode = (uint8_t)((e & IOAPIC_REDIR_DELIVERY_MASK) >> IOAPIC_REDIR_DELIVERY_SHIFT),
		.logical = (e & IOAPIC_REDIR_LOGICAL) != 0,
		.level = (e & IOAPIC_REDIR_LEVEL) != 0,
	};

	if (msg.level)
		io->s.redir[pin] |= IOAPIC_REDIR_REMOTE_IRR;
	if (io->deliver)
		io->deliver(io->ctx, &msg);
}

/* A level pin delivers while its line is asserted, it is unmasked and no earlier
 * delivery awaits its EOI. */
static void service_level(struct vdev_ioapic *io, unsigned pin)
{
	uint64_t e = io->s.redir[pin];

	if ((e & IOAPIC_REDIR_LEVEL) && !(e & (IOAPIC_REDIR_MASKED | IOAPIC_REDIR_REMOTE_IRR)) &&
	    (io->s.asserted >> pin & 1u))
		deliver(io, pin);
}

void vdev_ioapic_set_irq(struct vdev_ioapic *io, unsigned pin, bool asserted)
{
	bool was = pin < VDEV_IOAPIC_PINS && (io->s.asserted >> pin & 1u);

	if (pin >= VDEV_IOAPIC_PINS)
		return;
	if (asserted)
		io->s.asserted |= 1u << pin;
	else
		io->s.asserted &= ~(1u << pin);
	uint64_t e = io->s.redir[pin];
	if (e & IOAPIC_REDIR_LEVEL)
		service_level(io, pin);
	else if (asserted && !was && !(e & IOAPIC_REDIR_MASKED))
		deliver(io, pin);
}

void vdev_ioapic_eoi(struct vdev_ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < VDEV_IOAPIC_PINS; pin++) {
		uint64_t e = io->s.redir[pin];
		if ((e & IOAPIC_REDIR_REMOTE_IRR) && (e & IOAPIC_REDIR_VECTOR_MASK) == vector) {
			io->s.redir[pin] &= ~IOAPIC_REDIR_REMOTE_IRR;
			service_level(io, pin);
		}
	}
}

static int check_access(uint32_t offset, unsigned size, const char **why)
{
	if (offset >= IOAPIC_PAGE_BYTES)
		return refuse(why, "I/O APIC: access outside its page", FERR_RANGE);
	if (size != 4 || (offset != IOAPIC_REGSEL && offset != IOAPIC_WINDOW))
		return refuse(why, "I/O APIC: only 32-bit IOREGSEL and IOWIN accesses are modelled",
			      FERR_NOTSUP);
	return 0;
}

/* The selected redirection entry and dword, when IOREGSEL points into the table. */
static bool selected_entry(const struct vdev_ioapic *io, unsigned *pin, bool *high)
{
	uint32_t reg = io->s.regsel;

	if (reg < IOAPIC_REG_REDIR || reg >= IOAPIC_REG_REDIR + 2 * VDEV_IOAPIC_PINS)
		return false;
	*pin = (reg - IOAPIC_REG_REDIR) / 2;
	*high = (reg - IOAPIC_REG_REDIR) & 1u;
	return true;
}

int vdev_ioapic_read(struct vdev_ioapic *io, uint32_t offset, unsigned size, uint32_t *value,
		     const char **why)
{
	unsigned pin;
	bool high;
	int err = check_access(offset, size, why);

	if (err)
		return err;
	if (offset == IOAPIC_REGSEL) {
		*value = io->s.regsel;
		return 0;
	}
	if (selected_entry(io, &pin, &high)) {
		uint64_t e = io->s.redir[pin];
		*value = (uint32_t)(high ? e >> REDIR_HIGH_SHIFT : e & LOW_DWORD);
		return 0;
	}
	switch (io->s.regsel) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		*value = io->s.id;
		break;
	case IOAPIC_REG_VERSION:
		*value = IOAPIC_VERSION_82093AA |
			 (uint32_t)(VDEV_IOAPIC_PINS - 1) << IOAPIC_VERSION_MAX_ENTRY_SHIFT;
		break;
	default:
		*value = 0;   /* unimplemented registers read as zero */
		break;
	}
	return 0;
}

int vdev_ioapic_write(struct vdev_ioapic *io, uint32_t offset, unsigned size, uint32_t value,
		      const char **why)
{
	unsigned pin;
	bool high;
	int err = check_access(offset, size, why);

	if (err)
		return err;
	if (offset == IOAPIC_REGSEL) {
		io->s.regsel = value & 0xffu;
		return 0;
	}
	if (selected_entry(io, &pin, &high)) {
		uint64_t e = io->s.redir[pin];
		if (high)
			e = (e & LOW_DWORD) | ((uint64_t)value & IOAPIC_REDIR_HIGH_WRITABLE) << REDIR_HIGH_SHIFT;
		else
			e = (e & ~IOAPIC_REDIR_LOW_WRITABLE) | (value & IOAPIC_REDIR_LOW_WRITABLE);
		/* An edge pin has no remote IRR (Linux flips a stuck level pin to edge and back
		 * to clear it, a documented way out of a lost EOI). */
		if (!(e & IOAPIC_REDIR_LEVEL))
			e &= ~IOAPIC_REDIR_REMOTE_IRR;
		io->s.redir[pin] = e;
		service_level(io, pin);   /* unmasking an asserted level line delivers it */
		return 0;
	}
	if (io->s.regsel == IOAPIC_REG_ID)
		io->s.id = value & IOAPIC_ID_MASK;
	return 0;   /* version and arbitration are read-only */
}

int vdev_ioapic_check_state(const struct vdev_ioapic_state *s, const char **why)
{
	const uint64_t entry_bits = IOAPIC_REDIR_LOW_WRITABLE | IOAPIC_REDIR_REMOTE_IRR |
				    (IOAPIC_REDIR_HIGH_WRITABLE << REDIR_HIGH_SHIFT);

	if (s->id & ~IOAPIC_ID_MASK || s->regsel > 0xffu || s->reserved)
		return refuse(why, "I/O APIC: reserved bits in ID, IOREGSEL or padding", FERR_INVAL);
	if (s->asserted >> VDEV_IOAPIC_PINS)
		return refuse(why, "I/O APIC: a line past the last pin asserted", FERR_INVAL);
	for (int pin = 0; pin < VDEV_IOAPIC_PINS; pin++) {
		uint64_t e = s->redir[pin];
		if (e & ~entry_bits)
			return refuse(why, "I/O APIC: reserved bits in a redirection entry", FERR_INVAL);
		if ((e & IOAPIC_REDIR_REMOTE_IRR) && !(e & IOAPIC_REDIR_LEVEL))
			return refuse(why, "I/O APIC: remote IRR on an edge pin", FERR_INVAL);
	}
	return 0;
}
