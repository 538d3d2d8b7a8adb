/*
 * The local APIC a Linux guest sees, in xAPIC mode at 0xFEE00000 (Intel SDM Vol. 3A
 * ch. 11; the constants are arch/x86/apic.h): ID, version, TPR/PPR, EOI, LDR/DFR, SVR,
 * ISR/TMR/IRR, ESR, ICR (fixed and NMI interrupts to itself: one vCPU has no one else to
 * send to), the six LVT entries of a version-0x14 APIC (timer, thermal, performance,
 * LINT0, LINT1, error) and the timer in its one-shot, periodic and TSC-deadline modes.
 *
 * Time is a parameter, never read from the hardware: every call that depends on it takes
 * `now`, the guest's TSC. The timer counts in guest TSC cycles: one tick of the APIC
 * timer's input clock is `tsc_per_tick` TSC cycles (the integration reports that clock as
 * the crystal in CPUID leaf 0x15, from which Linux takes the timer's rate, so that no
 * calibration is needed). A running timer is a deadline in guest TSC units, which is what
 * migrates: restored after the guest's TSC, it fires at the same guest time.
 *
 * What the run loop does with it: deliver interrupts with vdev_lapic_accept(), ask
 * vdev_lapic_pending() for the vector to inject when the guest can take one, and
 * vdev_lapic_take() when injecting it; run the guest no longer than
 * vdev_lapic_next_deadline() and call vdev_lapic_advance() after each exit. A level-
 * triggered vector's EOI is reported through on_level_eoi (the I/O APIC clears its remote
 * IRR there). Accesses the model does not implement (not 32 bits wide, not 16-byte
 * aligned) are refused with FERR_NOTSUP and a reason, never guessed.
 *
 * The state (struct vdev_lapic_state) is plain fixed-width data, laid out for
 * save/restore; vdev_lapic_check_state() validates a loaded one. Portable (image and host).
 */
#ifndef FERRY_VDEV_LAPIC_H
#define FERRY_VDEV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/apic.h"

/* The LVT entries of this model, in register order (max LVT entry 5 in the version). */
enum vdev_lapic_lvt {
	LAPIC_LVT_TIMER,
	LAPIC_LVT_THERMAL,
	LAPIC_LVT_PERF,
	LAPIC_LVT_LINT0,
	LAPIC_LVT_LINT1,
	LAPIC_LVT_ERROR,
	LAPIC_LVT_COUNT
};

/* Bounds on tsc_per_tick: the timer's deadline arithmetic (count x divider x ticks, at
 * most 2^32 x 2^7 x 2^16) must not overflow 64 bits. */
#define VDEV_LAPIC_MAX_TSC_PER_TICK 0xffffu

struct vdev_lapic_state {
	uint64_t apic_base;          /* IA32_APIC_BASE */
	uint64_t timer_deadline;     /* guest TSC of the next expiry, when timer_armed */
	uint64_t timer_period;       /* guest TSC cycles between periodic expiries */
	uint32_t id;                 /* APIC ID register (ID in bits 31:24) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr;                /* what the guest reads */
	uint32_t esr_pending;        /* errors since the last ESR write */
	uint32_t icr_low, icr_high;
	uint32_t lvt[LAPIC_LVT_COUNT];
	uint32_t isr[APIC_VECTOR_REGS], tmr[APIC_VECTOR_REGS], irr[APIC_VECTOR_REGS];
	uint32_t timer_initial;      /* initial-count register */
	uint32_t timer_divide;       /* divide-configuration register */
	uint32_t tsc_per_tick;       /* guest TSC cycles per tick of the timer's input clock */
	uint8_t timer_armed;
	uint8_t nmi_pending;         /* an NMI sent to itself, for the run loop to inject */
	uint8_t reserved[6];         /* zero */
};

typedef void (*vdev_lapic_eoi_fn)(void *ctx, uint8_t vector);

struct vdev_lapic {
	struct vdev_lapic_state s;
	vdev_lapic_eoi_fn on_level_eoi;   /* may be NULL */
	void *ctx;
};

/* The power-up state (SDM 11.4.7.1) of the bootstrap processor's APIC, enabled at the
 * default base. Returns FERR_RANGE when tsc_per_tick is 0 or above the maximum. */
int vdev_lapic_init(struct vdev_lapic *l, uint8_t apic_id, uint32_t tsc_per_tick,
		    vdev_lapic_eoi_fn on_level_eoi, void *ctx);

/* Register access at `offset` in the APIC page (size in bytes). */
int vdev_lapic_read(struct vdev_lapic *l, uint32_t offset, unsigned size, uint64_t now,
		    uint32_t *value, const char **why);
int vdev_lapic_write(struct vdev_lapic *l, uint32_t offset, unsigned size, uint32_t value,
		     uint64_t now, const char **why);

/* IA32_APIC_BASE. A write that sets reserved bits gives FERR_INVAL (inject #GP); one
 * that asks for x2APIC or moves the base, FERR_NOTSUP (neither is offered). Clearing the
 * enable bit resets the APIC (ID kept); setting it again starts from the reset state. */
uint64_t vdev_lapic_read_apic_base(const struct vdev_lapic *l);
int vdev_lapic_write_apic_base(struct vdev_lapic *l, uint64_t value, const char **why);

/* IA32_TSC_DEADLINE: reads the armed deadline (0 when none); a write arms it in
 * TSC-deadline mode (0 disarms) and is ignored in the other modes (SDM 11.5.4.1). */
uint64_t vdev_lapic_read_tsc_deadline(const struct vdev_lapic *l);
void vdev_lapic_write_tsc_deadline(struct vdev_lapic *l, uint64_t deadline);

/* An interrupt from the I/O APIC or a device: sets the vector in IRR (and TMR when level)
 * unless the APIC is disabled. Vectors 0-15 are refused and recorded in ESR. */
void vdev_lapic_accept(struct vdev_lapic *l, uint8_t vector, bool level);

/* Whether a message to `dest` (physical ID, or logical under DFR/LDR) reaches this APIC. */
bool vdev_lapic_matches(const struct vdev_lapic *l, uint8_t dest, bool logical);

/* The highest-priority vector in IRR that PPR lets through, or -1. */
int vdev_lapic_pending(const struct vdev_lapic *l);
/* The CPU takes that vector (interrupt acknowledge): IRR to ISR. Returns it, or -1. */
int vdev_lapic_take(struct vdev_lapic *l);

/* The guest TSC at which the timer next needs attention, UINT64_MAX when never. */
uint64_t vdev_lapic_next_deadline(const struct vdev_lapic *l);
/* Fires the timer if its deadline is at or before `now` (re-arming a periodic one past
 * `now`, missed periods coalesced into one interrupt). Returns true when it fired. */
bool vdev_lapic_advance(struct vdev_lapic *l, uint64_t now);

/* Validates a state to be restored: 0, or FERR_INVAL with a reason. */
int vdev_lapic_check_state(const struct vdev_lapic_state *s, const char **why);

#endif
