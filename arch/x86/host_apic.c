/* This host's local APIC and the masking of its interrupt sources; see host_apic.h. */
#include "arch/x86/host_apic.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"

#define X2APIC_MSR_BASE  0x800u   /* x2APIC: MSR 800H + offset / 16 (SDM 11.12.1.2) */

/* The legacy 8259 PICs' interrupt mask registers (OCW1). */
#define PIC_MASTER_DATA  0x21
#define PIC_SLAVE_DATA   0xa1
#define PIC_MASK_ALL     0xff

static struct {
	bool ready, x2apic;
	volatile uint32_t *mmio;
	uint64_t phys;
} apic;

static const unsigned masked_lvts[] = {
	APIC_LVT_TIMER, APIC_LVT_LINT0, APIC_LVT_ERROR, APIC_LVT_THERMAL, APIC_LVT_PERF,
};

int host_apic_init(const char **why)
{
	if (apic.ready)
		return FERR_OK;
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE)) {
		*why = "the local APIC is disabled";
		return FERR_NOTSUP;
	}
	apic.x2apic = base & APIC_BASE_X2APIC;
	if (!apic.x2apic) {
		apic.phys = base & APIC_BASE_ADDRESS_MASK;
		int err = paging_map_mmio(apic.phys, APIC_PAGE_BYTES);
		if (err) {
			*why = "the local APIC cannot be mapped";
			return err;
		}
		apic.mmio = phys_to_ptr(apic.phys);
	}
	apic.ready = true;
	outb(PIC_MASTER_DATA, PIC_MASK_ALL);
	outb(PIC_SLAVE_DATA, PIC_MASK_ALL);
	for (unsigned i = 0; i < sizeof(masked_lvts) / sizeof(masked_lvts[0]); i++)
		host_apic_write(masked_lvts[i], host_apic_read(masked_lvts[i]) | APIC_LVT_MASKED);
	return FERR_OK;
}

bool host_apic_x2apic(void)
{
	return apic.x2apic;
}

uint64_t host_apic_eoi_phys(void)
{
	return apic.x2apic ? 0 : apic.phys + APIC_EOI;
}

uint32_t host_apic_read(unsigned reg)
{
	return apic.x2apic ? (uint32_t)rdmsr(X2APIC_MSR_BASE + reg / APIC_REG_STRIDE) : apic.mmio[reg / 4];
}

void host_apic_write(unsigned reg, uint32_t value)
{
	if (apic.x2apic)
		wrmsr(X2APIC_MSR_BASE + reg / APIC_REG_STRIDE, value);
	else
		apic.mmio[reg / 4] = value;
}

void host_apic_eoi(void)
{
	host_apic_write(APIC_EOI, 0);
}
