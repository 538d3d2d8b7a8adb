/* A periodic wake-up for the dirty guest: PIT channel 0 on IRQ0 through the 8259 PIC,
 * so that the guest can halt between writes instead of spinning on the TSC. */
#ifndef DIRTY_GUEST_TICKER_H
#define DIRTY_GUEST_TICKER_H

#include <stdint.h>

/* Incremented by the interrupt stub (entry.S) on every tick. */
extern volatile uint32_t timer_ticks;

/* Installs the IDT gate, remaps and masks the PICs but for IRQ0, starts channel 0 at
 * `hz` and enables interrupts. */
void ticker_start(uint32_t hz);

/* Halts until the next interrupt. */
static inline void ticker_wait(void)
{
	__asm__ volatile("hlt");
}

#endif
