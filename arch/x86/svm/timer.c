/*
 * The local APIC one-shot timer that ends guest slices; see timer.h. Registers:
 * Intel SDM Vol. 3A 11.4-11.5 and AMD64 APM Vol. 2, 16.3-16.4 (the same xAPIC
 * layout; x2APIC MSRs at 800h + offset/16).
 */
#include "arch/x86/svm/timer.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/host_apic.h"
#include "arch/x86/idt.h"
#include "arch/x86/x86.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"

#include <stdbool.h>

#define APIC_DIVIDE_BY_1       0xbu
#define APIC_COUNT_MAX         0xffffffffu

/* Vectors: the timer's, high in priority; the spurious vector; the first after the exceptions. */
#define VECTOR_SLICE_TIMER     0xf0
#define VECTOR_SPURIOUS        0xff
#define VECTOR_FIRST_EXTERNAL  VECTOR_EXCEPTIONS
#define VECTOR_COUNT           256

#define CALIBRATION_MS         10
#define DESCRIBE_BYTES         96

static uint64_t apic_hz;   /* timer counts per second (divide by 1) */

/* Set by entry.S's interrupt stub: the EOI register (0 in x2APIC mode) and the count it keeps. */
__attribute__((visibility("hidden"))) uint64_t svm_lapic_eoi_mmio;
__attribute__((visibility("hidden"))) uint64_t svm_host_interrupts;
void svm_host_interrupt(void);   /* entry.S */

static void calibrate(void)
{
	uint64_t tsc_hz = clock_tsc_hz(), window = tsc_hz / MS_PER_S * CALIBRATION_MS;

	host_apic_write(APIC_TIMER_INITIAL, APIC_COUNT_MAX);
	uint64_t start = rdtsc(), now;
	while ((now = rdtsc()) - start < window)
		cpu_relax();
	uint32_t left = host_apic_read(APIC_TIMER_CURRENT);
	host_apic_write(APIC_TIMER_INITIAL, 0);
	/* At most ~2^27 counts in 10 ms times a TSC rate under 2^34: no overflow. */
	apic_hz = (uint64_t)(APIC_COUNT_MAX - left) * tsc_hz / (now - start);
}

int svm_timer_init(const char **why)
{
	int err = host_apic_init(why);   /* also masks the PICs and the APIC's other inputs */

	if (err) {
		if (err == FERR_NOTSUP)
			*why = "the local APIC is disabled, and SVM guests need its timer";
		return err;
	}
	svm_lapic_eoi_mmio = host_apic_eoi_phys();
	for (unsigned v = VECTOR_FIRST_EXTERNAL; v < VECTOR_COUNT; v++)
		idt_set_interrupt_gate(v, svm_host_interrupt);
	host_apic_write(APIC_TPR, 0);
	host_apic_write(APIC_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	host_apic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_1);
	host_apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_SLICE_TIMER);
	calibrate();
	if (!apic_hz) {
		*why = "the local APIC timer does not count";
		return FERR_NOTSUP;
	}
	host_apic_write(APIC_LVT_TIMER, VECTOR_SLICE_TIMER);
	return FERR_OK;
}

void svm_timer_arm(uint64_t deadline_tsc)
{
	uint64_t now = rdtsc(), tsc_hz = clock_tsc_hz();
	uint64_t max_ticks = tsc_hz;   /* a deadline further off is armed for a second */
	uint64_t ticks = deadline_tsc > now ? deadline_tsc - now : 0;

	if (ticks > max_ticks)
		ticks = max_ticks;
	uint64_t count = ticks * apic_hz / tsc_hz;   /* < 2^34 ticks times < 2^30 Hz: no overflow */
	if (count == 0)
		count = 1;
	if (count > APIC_COUNT_MAX)
		count = APIC_COUNT_MAX;
	host_apic_write(APIC_TIMER_INITIAL, (uint32_t)count);
}

void svm_timer_disarm(void)
{
	host_apic_write(APIC_TIMER_INITIAL, 0);
	/* The instruction after STI still runs with interrupts blocked; they are taken before CLI. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

const char *svm_timer_describe(void)
{
	static char line[DESCRIBE_BYTES];

	fmt_snprintf(line, sizeof(line), "timer=lapic apic_hz=%llu x2apic=%s host_interrupts=%llu",
		     (unsigned long long)apic_hz, host_apic_x2apic() ? "yes" : "no",
		     (unsigned long long)svm_host_interrupts);
	return line;
}
