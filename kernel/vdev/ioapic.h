/*
 * The I/O APIC a Linux guest sees at 0xFEC00000: an 82093AA (version 0x11) with 24
 * redirection entries, reached through IOREGSEL (offset 0x00) and IOWIN (0x10) in
 * 32-bit accesses (constants in arch/x86/apic.h).
 *
 * Devices drive its pins with vdev_ioapic_set_irq(): the logical line state, asserted or
 * not (a pin's polarity bit is the guest's business; the model sees assertion). An edge
 * pin delivers on each rising edge while unmasked (an edge while masked is lost, as on
 * the chip). A level pin delivers while asserted, unmasked and without remote IRR; it
 * sets remote IRR, which the local APIC's EOI of that vector clears
 * (vdev_ioapic_eoi(), from vdev_lapic's on_level_eoi), and a still-asserted line then
 * delivers again. Delivery is a message to the `deliver` callback (the integration
 * routes it to the local APIC: fixed and lowest-priority to vdev_lapic_accept(), NMI to
 * the NMI path).
 *
 * The state (struct vdev_ioapic_state) is plain fixed-width data, laid out for
 * save/restore; vdev_ioapic_check_state() validates a loaded one. Portable (image and host).
 */
#ifndef FERRY_VDEV_IOAPIC_H
#define FERRY_VDEV_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/apic.h"

#define VDEV_IOAPIC_PINS 24

struct vdev_ioapic_state {
	uint64_t redir[VDEV_IOAPIC_PINS];   /* redirection entries, remote IRR included */
	uint32_t id;                        /* ID register (ID in bits 27:24) */
	uint32_t regsel;                    /* IOREGSEL */
	uint32_t asserted;                  /* one bit per pin: the line is asserted */
	uint32_t reserved;                  /* zero */
};

struct vdev_ioapic_msg {
	uint8_t vector;
	uint8_t dest;            /* APIC ID, or a logical destination */
	uint8_t delivery_mode;   /* APIC_DELIVERY_* */
	bool logical;
	bool level;
};

typedef void (*vdev_ioapic_deliver_fn)(void *ctx, const struct vdev_ioapic_msg *msg);

struct vdev_ioapic {
	struct vdev_ioapic_state s;
	vdev_ioapic_deliver_fn deliver;
	void *ctx;
};

/* The reset state: every entry masked, no line asserted. */
void vdev_ioapic_init(struct vdev_ioapic *io, uint8_t id, vdev_ioapic_deliver_fn deliver, void *ctx);

/* MMIO at `offset` in the I/O APIC's page: 32-bit accesses to IOREGSEL and IOWIN;
 * anything else FERR_NOTSUP with a reason. */
int vdev_ioapic_read(struct vdev_ioapic *io, uint32_t offset, unsigned size, uint32_t *value,
		     const char **why);
int vdev_ioapic_write(struct vdev_ioapic *io, uint32_t offset, unsigned size, uint32_t value,
		      const char **why);

/* A device's line: asserted or not. Pins past the last are ignored. */
void vdev_ioapic_set_irq(struct vdev_ioapic *io, unsigned pin, bool asserted);

/* The local APIC's EOI of `vector` (a level-triggered interrupt). */
void vdev_ioapic_eoi(struct vdev_ioapic *io, uint8_t vector);

/* Validates a state to be restored: 0, or FERR_INVAL with a reason. */
int vdev_ioapic_check_state(const struct vdev_ioapic_state *s, const char **why);

#endif
