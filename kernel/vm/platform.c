/*
 * The Linux platform at run time; see platform.h. Register facts: arch/x86/apic.h;
 * the addresses and pins: kernel/vdev/platform.h.
 */
#include "kernel/vm/platform.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/acpi.h"
#include "kernel/vdev/platform.h"
#include "kernel/vm/vm_internal.h"

#include <string.h>

/* The CMOS clock's registers (MC146818A data sheet; Linux's include/linux/mc146818rtc.h):
 * the time in BCD, then status registers A-D, and the century (ACPI FADT CENTURY, 0x32). */
#define RTC_INDEX_MASK   0x7fu   /* bit 7 of the index port masks NMIs */
#define RTC_REG_DAY      0x07u
#define RTC_REG_MONTH    0x08u
#define RTC_REG_A        0x0au
#define RTC_REG_B        0x0bu
#define RTC_REG_D        0x0du
#define RTC_REG_CENTURY  0x32u
#define RTC_A_DIVIDER_32K_1024HZ 0x26u   /* UIP (bit 7) clear: the time can be read */
#define RTC_B_24H_BCD    0x02u
#define RTC_D_VALID      0x80u           /* VRT: the time and RAM are valid */
#define RTC_BCD_ONE      0x01u
#define RTC_BCD_CENTURY_20 0x20u

/* ---- wiring ----------------------------------------------------------------------------- */

/* The I/O APIC's messages: fixed and lowest-priority ones to the local APIC when it is
 * addressed (one CPU: lowest priority is that CPU), NMIs to the NMI path; SMI, INIT and
 * ExtINT have no receiver here. */
static void deliver_to_lapic(void *ctx, const struct vdev_ioapic_msg *msg)
{
	struct vm_platform *p = ctx;

	if (!vdev_lapic_matches(&p->lapic, msg->dest, msg->logical))
		return;
	switch (msg->delivery_mode) {
	case APIC_DELIVERY_FIXED:
	case APIC_DELIVERY_LOWEST:
		vdev_lapic_accept(&p->lapic, msg->vector, msg->level);
		break;
	case APIC_DELIVERY_NMI:
		p->lapic.s.nmi_pending = 1;
		break;
	default:
		break;
	}
}

/* A level-triggered vector's EOI clears the I/O APIC's remote IRR. */
static void level_eoi(void *ctx, uint8_t vector)
{
	struct vm_platform *p = ctx;

	vdev_ioapic_eoi(&p->ioapic, vector);
}

static void uart_irq(void *ctx, bool asserted)
{
	struct vm_platform *p = ctx;

	vdev_ioapic_set_irq(&p->ioapic, PLATFORM_COM1_GSI, asserted);
}

/* The window handlers: the APICs' register interfaces, 32 bits wide. */
static int lapic_read(void *dev, uint32_t offset, unsigned size, uint64_t *value, const char **why)
{
	struct vm *vm = dev;
	uint32_t v32 = 0;
	int err = vdev_lapic_read(&vm->platform.lapic, offset, size, vcpu_guest_tsc(vm->vcpu), &v32, why);

	*value = v32;
	return err;
}

static int lapic_write(void *dev, uint32_t offset, unsigned size, uint64_t value, const char **why)
{
	struct vm *vm = dev;

	return vdev_lapic_write(&vm->platform.lapic, offset, size, (uint32_t)value, vcpu_guest_tsc(vm->vcpu), why);
}

static int ioapic_read(void *dev, uint32_t offset, unsigned size, uint64_t *value, const char **why)
{
	struct vm *vm = dev;
	uint32_t v32 = 0;
	int err = vdev_ioapic_read(&vm->platform.ioapic, offset, size, &v32, why);

	*value = v32;
	return err;
}

static int ioapic_write(void *dev, uint32_t offset, unsigned size, uint64_t value, const char **why)
{
	struct vm *vm = dev;

	return vdev_ioapic_write(&vm->platform.ioapic, offset, size, (uint32_t)value, why);
}

/* 2000-01-01 00:00:00, stopped (platform.h says why there is a clock at all). */
static uint8_t rtc_read(uint8_t index)
{
	switch (index) {
	case RTC_REG_DAY:
	case RTC_REG_MONTH:   return RTC_BCD_ONE;
	case RTC_REG_A:       return RTC_A_DIVIDER_32K_1024HZ;
	case RTC_REG_B:       return RTC_B_24H_BCD;
	case RTC_REG_D:       return RTC_D_VALID;
	case RTC_REG_CENTURY: return RTC_BCD_CENTURY_20;
	default:              return 0;   /* seconds..hours, year 00, flags C, CMOS RAM */
	}
}

int vm_platform_add_window(struct vm *vm, const struct vm_mmio_window *w)
{
	struct vm_platform *p = &vm->platform;

	if (p->window_count == VM_MMIO_WINDOWS_MAX)
		return FERR_NOMEM;
	for (unsigned i = 0; i < p->window_count; i++) {
		const struct vm_mmio_window *o = &p->windows[i];
		if (w->base < o->base + o->size && o->base < w->base + w->size)
			return FERR_EXIST;
	}
	p->windows[p->window_count++] = *w;
	return FERR_OK;
}

int vm_platform_init(struct vm *vm, const struct cpuid_platform *cpuid, const char **why)
{
	struct vm_platform *p = &vm->platform;

	memset(p, 0, sizeof(*p));
	p->cpuid = *cpuid;
	if (vdev_lapic_init(&p->lapic, PLATFORM_APIC_ID, cpuid->tsc_per_tick, level_eoi, p)) {
		*why = "the TSC rate gives no usable APIC timer clock";
		return FERR_RANGE;
	}
	vdev_ioapic_init(&p->ioapic, PLATFORM_IOAPIC_ID, deliver_to_lapic, p);
	const struct vm_mmio_window apics[] = {
		{ PLATFORM_LAPIC_GPA, APIC_PAGE_BYTES, lapic_read, lapic_write, vm },
		{ PLATFORM_IOAPIC_GPA, IOAPIC_PAGE_BYTES, ioapic_read, ioapic_write, vm },
	};
	for (unsigned i = 0; i < sizeof(apics) / sizeof(apics[0]); i++)
		vm_platform_add_window(vm, &apics[i]);
	p->on = true;
	vdev_uart_set_irq(&vm->uart, uart_irq, p);
	vcpu_set_platform(vm->vcpu, cpuid);
	return FERR_OK;
}

/* ---- before each entry ----------------------------------------------------------------------- */

/* The host TSC at which the guest's TSC reaches guest_deadline (now if it has). */
static uint64_t host_tsc_at(uint64_t guest_deadline, uint64_t guest_now)
{
	uint64_t now = rdtsc();

	return guest_deadline > guest_now ? now + (guest_deadline - guest_now) : now;
}

bool vm_platform_prepare(struct vm *vm, uint64_t *deadline_tsc)
{
	struct vm_platform *p = &vm->platform;
	uint64_t guest_now = vcpu_guest_tsc(vm->vcpu);

	vdev_lapic_advance(&p->lapic, guest_now);
	int vector = vdev_lapic_pending(&p->lapic);
	if (p->halted) {
		/* HLT ends with an interrupt the guest takes (IF set) or an NMI. */
		if (!p->lapic.s.nmi_pending && (vector < 0 || !vcpu_interruptible(vm->vcpu)))
			return false;
		p->halted = false;
	}
	if (p->lapic.s.nmi_pending && vcpu_inject_nmi(vm->vcpu)) {
		p->lapic.s.nmi_pending = 0;
		p->nmis++;
	} else if (vector >= 0) {
		if (vcpu_interruptible(vm->vcpu)) {
			vcpu_inject_interrupt(vm->vcpu, (uint8_t)vdev_lapic_take(&p->lapic));
			p->interrupts++;
		} else {
			vcpu_request_interrupt_window(vm->vcpu, true);
		}
	}
	uint64_t next = vdev_lapic_next_deadline(&p->lapic);
	if (next != UINT64_MAX) {
		uint64_t at = host_tsc_at(next, guest_now);
		if (at < *deadline_tsc)
			*deadline_tsc = at;
	}
	return true;
}

bool vm_platform_runnable(struct vm *vm)
{
	struct vm_platform *p = &vm->platform;

	if (!p->on || !p->halted)
		return true;
	if (p->lapic.s.nmi_pending)
		return true;
	if (vdev_lapic_next_deadline(&p->lapic) <= vcpu_guest_tsc(vm->vcpu))
		return true;   /* the timer fires: prepare() decides whether the guest takes it */
	return vdev_lapic_pending(&p->lapic) >= 0;
}

void vm_platform_halt(struct vm *vm)
{
	vm->platform.halted = true;
	vm->platform.halts++;
}

/* ---- exits ------------------------------------------------------------------------------ */

static const struct vm_mmio_window *find_window(const struct vm_platform *p, uint64_t gpa)
{
	for (unsigned i = 0; i < p->window_count; i++)
		if (gpa >= p->windows[i].base && gpa - p->windows[i].base < p->windows[i].size)
			return &p->windows[i];
	return NULL;
}

void vm_platform_mmio(struct vm *vm, const struct vcpu_mmio *m)
{
	struct vm_platform *p = &vm->platform;
	const struct vm_mmio_window *w = find_window(p, m->gpa);
	const char *why = "no device there";
	uint64_t value = 0;
	int err = FERR_NOENT;

	p->mmio_exits++;
	if (w && m->gpa - w->base + m->size <= w->size) {
		uint32_t offset = (uint32_t)(m->gpa - w->base);
		err = m->write ? w->write(w->dev, offset, m->size, m->value, &why)
			       : w->read(w->dev, offset, m->size, &value, &why);
	} else if (w) {
		why = "the access runs past the device's window";
	}
	if (err) {
		vm_stop(vm, "MMIO at GPA 0x%llx: %s (%u-byte %s)", (unsigned long long)m->gpa, why, m->size,
			m->write ? "write" : "read");
		return;
	}
	vcpu_complete_mmio(vm->vcpu, value);
}

void vm_platform_msr(struct vm *vm, const struct vcpu_msr *m)
{
	struct vdev_lapic *l = &vm->platform.lapic;
	uint64_t value = 0;
	bool ok = true;
	const char *why;

	vm->platform.msr_exits++;
	if (m->msr == MSR_IA32_APIC_BASE) {
		if (m->write)
			ok = vdev_lapic_write_apic_base(l, m->value, &why) == FERR_OK;   /* #GP otherwise */
		else
			value = vdev_lapic_read_apic_base(l);
	} else if (m->msr == MSR_IA32_TSC_DEADLINE) {
		if (m->write)
			vdev_lapic_write_tsc_deadline(l, m->value);
		else
			value = vdev_lapic_read_tsc_deadline(l);
	} else {
		ok = false;
	}
	vcpu_complete_msr(vm->vcpu, ok, value);
}

bool vm_platform_io(struct vm *vm, const struct vcpu_io *io, enum vm_power_request *power)
{
	*power = VM_POWER_NONE;
	if (io->string || io->size != 1)
		return false;
	if (io->port >= PLATFORM_PIT_FIRST_PORT && io->port <= PLATFORM_PIT_LAST_PORT) {
		vcpu_complete_io(vm->vcpu, 0);   /* no PIT: reads 0 (platform.h says why) */
		return true;
	}
	uint32_t value = 0;
	switch (io->port) {
	case PLATFORM_RTC_INDEX_PORT:
		if (!io->in)
			vm->platform.rtc_index = (uint8_t)(io->value & RTC_INDEX_MASK);
		break;
	case PLATFORM_RTC_DATA_PORT:
		if (io->in)
			value = rtc_read(vm->platform.rtc_index);   /* writes (alarms, settings) are ignored */
		break;
	case PLATFORM_SLEEP_CONTROL_PORT:
		if (!io->in && (io->value & ACPI_SLEEP_ENABLE) &&
		    (io->value & ACPI_SLEEP_TYPE_MASK) >> ACPI_SLEEP_TYPE_SHIFT == PLATFORM_S5_SLEEP_TYPE)
			*power = VM_POWER_OFF;
		break;
	case PLATFORM_SLEEP_STATUS_PORT:
		break;   /* reads 0: the guest is awake; writes clear nothing */
	case PLATFORM_RESET_PORT:
		if (!io->in && io->value == PLATFORM_RESET_VALUE)
			*power = VM_POWER_RESET;
		break;
	default:
		return false;
	}
	vcpu_complete_io(vm->vcpu, value);
	return true;
}
