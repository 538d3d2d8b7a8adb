/*
 * The local APIC one-shot timer that ends guest slices; see timer.h. Registers:
 * Intel SDM Vol. 3A 11.4-11.5 and AMD64 APM Vol. 2, 16.3-16.4 (the same xAPIC
 * layout; x2APIC MSRs at 800h + offset/16).
 */
#include "arch/x86/svm/timer.h"
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/paging.h"
#include "arch/x86/x86.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/memory.h"

#include <stdbool.h>

#define MSR_IA32_APIC_BASE     0x1b
#define APIC_BASE_X2APIC       (1ull << 10)
#define APIC_BASE_ENABLE       (1ull << 11)
#define APIC_BASE_ADDR_MASK    0x000ffffffffff000ull
#define X2APIC_MSR_BASE        0x800u
#define APIC_REG_TPR           0x080
#define APIC_REG_EOI           0x0b0
#define APIC_REG_SVR           0x0f0
#define APIC_REG_LVT_TIMER     0x320
#define APIC_REG_TIMER_INITIAL 0x380
#define APIC_REG_TIMER_CURRENT 0x390
#define APIC_REG_TIMER_DIVIDE  0x3e0
#define APIC_SVR_ENABLE        (1u << 8)
#define APIC_LVT_MASKED        (1u << 16)   /* timer mode bits 18:17 = 0: one-shot */
#define APIC_DIVIDE_BY_1       0xbu
#define APIC_COUNT_MAX         0xffffffffu

/* Vectors: the timer's, high in priority; the spurious vector; the first after the exceptions. */
#define VECTOR_SLICE_TIMER     0xf0
#define VECTOR_SPURIOUS        0xff
#define VECTOR_FIRST_EXTERNAL  VECTOR_EXCEPTIONS
#define VECTOR_COUNT           256

/* The legacy 8259 PICs: Ferry uses none of their inputs; masked, they cannot interrupt a guest. */
#define PIC_MASTER_DATA        0x21
#define PIC_SLAVE_DATA         0xa1
#define PIC_MASK_ALL           0xff

#define CALIBRATION_MS         10
#define DESCRIBE_BYTES         96

static struct {
	bool x2apic;
	volatile uint32_t *mmio;   /* xAPIC registers, mapped uncached */
	uint64_t apic_hz;          /* timer counts per second (divide by 1) */
} apic;

/* Set by entry.S's interrupt stub: the EOI register (0 in x2APIC mode) and the count it keeps. */
__attribute__((visibility("hidden"))) uint64_t svm_lapic_eoi_mmio;
__attribute__((visibility("hidden"))) uint64_t svm_host_interrupts;
void svm_host_interrupt(void);   /* entry.S */

static uint32_t apic_read(unsigned reg)
{
	return apic.x2apic ? (uint32_t)rdmsr(X2APIC_MSR_BASE + reg / 16) : apic.mmio[reg / 4];
}

static void apic_write(unsigned reg, uint32_t value)
{
	if (apic.x2apic)
		wrmsr(X2APIC_MSR_BASE + reg / 16, value);
	else
		apic.mmio[reg / 4] = value;
}

static void calibrate(void)
{
	uint64_t tsc_hz = clock_tsc_hz(), window = tsc_hz / MS_PER_S * CALIBRATION_MS;

	apic_write(APIC_REG_TIMER_INITIAL, APIC_COUNT_MAX);
	uint64_t start = rdtsc(), now;
	while ((now = rdtsc()) - start < window)
		cpu_relax();
	uint32_t left = apic_read(APIC_REG_TIMER_CURRENT);
	apic_write(APIC_REG_TIMER_INITIAL, 0);
	/* At most ~2^27 counts in 10 ms times a TSC rate under 2^34: no overflow. */
	apic.apic_hz = (uint64_t)(APIC_COUNT_MAX - left) * tsc_hz / (now - start);
}

int svm_timer_init(const char **why)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	if (!(base & APIC_BASE_ENABLE)) {
		*why = "the local APIC is disabled, and SVM guests need its timer";
		return FERR_NOTSUP;
	}
	apic.x2apic = base & APIC_BASE_X2APIC;
	if (!apic.x2apic) {
		uint64_t phys = base & APIC_BASE_ADDR_MASK;
		int err = paging_map_mmio(phys, PAGE_SIZE);
		if (err) {
			*why = "the local APIC cannot be mapped";
			return err;
		}
		apic.mmio = phys_to_ptr(phys);
		svm_lapic_eoi_mmio = phys + APIC_REG_EOI;
	}
	outb(PIC_MASTER_DATA, PIC_MASK_ALL);
	outb(PIC_SLAVE_DATA, PIC_MASK_ALL);
	for (unsigned v = VECTOR_FIRST_EXTERNAL; v < VECTOR_COUNT; v++)
		idt_set_interrupt_gate(v, svm_host_interrupt);
	apic_write(APIC_REG_TPR, 0);
	apic_write(APIC_REG_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	apic_write(APIC_REG_TIMER_DIVIDE, APIC_DIVIDE_BY_1);
	apic_write(APIC_REG_LVT_TIMER, APIC_LVT_MASKED | VECTOR_SLICE_TIMER);
	calibrate();
	if (!apic.apic_hz) {
		*why = "the local APIC timer does not count";
		return FERR_NOTSUP;
	}
	apic_write(APIC_REG_LVT_TIMER, VECTOR_SLICE_TIMER);
	return FERR_OK;
}

void svm_timer_arm(uint64_t deadline_tsc)
{
	uint64_t now = rdtsc(), tsc_hz = clock_tsc_hz();
	uint64_t max_ticks = tsc_hz;   /* a deadline further off is armed for a second */
	uint64_t ticks = deadline_tsc > now ? deadline_tsc - now : 0;

	if (ticks > max_ticks)
		ticks = max_ticks;
	uint64_t count = ticks * apic.apic_hz / tsc_hz;   /* < 2^34 ticks times < 2^30 Hz: no overflow */
	if (count == 0)
		count = 1;
	if (count > APIC_COUNT_MAX)
		count = APIC_COUNT_MAX;
	apic_write(APIC_REG_TIMER_INITIAL, (uint32_t)count);
}

void svm_timer_disarm(void)
{
	apic_write(APIC_REG_TIMER_INITIAL, 0);
	/* The instruction after STI still runs with interrupts blocked; they are taken before CLI. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
}

const char *svm_timer_describe(void)
{
	static char line[DESCRIBE_BYTES];

	fmt_snprintf(line, sizeof(line), "timer=lapic apic_hz=%llu x2apic=%s host_interrupts=%llu",
		     (unsigned long long)apic.apic_hz, apic.x2apic ? "yes" : "no",
		     (unsigned long long)svm_host_interrupts);
	return line;
}
