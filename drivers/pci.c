/* PCI configuration access and enumeration; see pci.h. */
#include "drivers/pci.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "drivers/acpi_tables.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/unaligned.h"
#include "kernel/log.h"
#include "kernel/memory.h"

#include <stddef.h>
#include <string.h>

/* Legacy configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_CONFIG_ENABLE  (1u << 31)

/* ECAM: each function has 4 KiB of configuration space (PCIe Base 4.0, 7.2.2). */
#define ECAM_BUS_SHIFT  20
#define ECAM_DEV_SHIFT  15
#define ECAM_FN_SHIFT   12
#define ECAM_BUS_BYTES  (1ull << ECAM_BUS_SHIFT)

#define PCI_BUSES     256
#define PCI_DEVICES   32
#define PCI_FUNCTIONS 8

/* PCI Firmware 3.2, MCFG: after the header, 8 reserved bytes, then 16-byte entries. */
#define ACPI_MCFG_ENTRIES   (ACPI_SDT_HEADER + 8)
#define ACPI_MCFG_ENTRY     16

static enum { MECH_NONE, MECH_PORTS, MECH_ECAM } mechanism;
static uint64_t ecam_base;
static uint8_t ecam_start_bus, ecam_end_bus;
static bool ecam_bus_mapped[PCI_BUSES];

static struct pci_device devices[PCI_MAX_DEVICES];
static unsigned device_count;

static void find_ecam(uint64_t rsdp)
{
	const uint8_t *mcfg = acpi_find_table(rsdp, "MCFG");
	if (!mcfg)
		return;
	uint32_t length = load_le32(mcfg + ACPI_SDT_LENGTH);
	if (length < ACPI_MCFG_ENTRIES + ACPI_MCFG_ENTRY)
		return;
	/* Ferry uses segment 0 only: the first entry. */
	const uint8_t *e = mcfg + ACPI_MCFG_ENTRIES;
	ecam_base = load_le64(e);
	ecam_start_bus = e[10];
	ecam_end_bus = e[11];
	if (ecam_base && ecam_end_bus >= ecam_start_bus)
		mechanism = MECH_ECAM;
}

static volatile uint8_t *ecam_address(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t offset)
{
	uint64_t bus_base = ecam_base + ((uint64_t)(bus - ecam_start_bus) << ECAM_BUS_SHIFT);
	if (!ecam_bus_mapped[bus]) {
		paging_map_mmio(bus_base, ECAM_BUS_BYTES);
		ecam_bus_mapped[bus] = true;
	}
	return phys_to_ptr(bus_base + ((uint64_t)dev << ECAM_DEV_SHIFT) +
			   ((uint64_t)fn << ECAM_FN_SHIFT) + offset);
}

static bool ecam_covers(uint8_t bus)
{
	return bus >= ecam_start_bus && bus <= ecam_end_bus;
}

static uint32_t port_address(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t offset)
{
	return PCI_CONFIG_ENABLE | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
	       (uint32_t)fn << 8 | (offset & 0xfc);
}

static uint32_t config_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t offset)
{
	offset &= ~3u;
	if (mechanism == MECH_ECAM) {
		if (!ecam_covers(bus))
			return 0xffffffffu;
		return *(volatile uint32_t *)ecam_address(bus, dev, fn, offset);
	}
	outl(PCI_CONFIG_ADDRESS, port_address(bus, dev, fn, offset));
	return inl(PCI_CONFIG_DATA);
}

static void config_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t offset, uint32_t v)
{
	offset &= ~3u;
	if (mechanism == MECH_ECAM) {
		if (ecam_covers(bus))
			*(volatile uint32_t *)ecam_address(bus, dev, fn, offset) = v;
		return;
	}
	outl(PCI_CONFIG_ADDRESS, port_address(bus, dev, fn, offset));
	outl(PCI_CONFIG_DATA, v);
}

uint32_t pci_read32(const struct pci_device *d, uint16_t offset)
{
	return config_read32(d->bus, d->dev, d->fn, offset);
}

uint16_t pci_read16(const struct pci_device *d, uint16_t offset)
{
	return (uint16_t)(pci_read32(d, offset) >> ((offset & 2) * 8));
}

uint8_t pci_read8(const struct pci_device *d, uint16_t offset)
{
	return (uint8_t)(pci_read32(d, offset) >> ((offset & 3) * 8));
}

void pci_write32(const struct pci_device *d, uint16_t offset, uint32_t value)
{
	config_write32(d->bus, d->dev, d->fn, offset, value);
}

/* A read-modify-write of the aligned dword: writes of 1s to RW1C status bits are avoided by callers. */
void pci_write16(const struct pci_device *d, uint16_t offset, uint16_t value)
{
	unsigned shift = (offset & 2) * 8;
	uint32_t v = pci_read32(d, offset);
	v = (v & ~(0xffffu << shift)) | (uint32_t)value << shift;
	/* Offset 4 holds COMMAND with STATUS above it, whose error bits are write-one-to-clear. */
	if ((offset & ~3u) == PCI_COMMAND && shift == 0)
		v &= 0xffffu;
	pci_write32(d, offset, v);
}

static void scan_bus(uint8_t bus, unsigned depth);

static void scan_function(uint8_t bus, uint8_t dev, uint8_t fn, unsigned depth)
{
	uint32_t id = config_read32(bus, dev, fn, PCI_VENDOR_ID);
	if ((id & 0xffff) == PCI_VENDOR_NONE || device_count == PCI_MAX_DEVICES)
		return;
	struct pci_device *d = &devices[device_count++];
	uint32_t class_reg = config_read32(bus, dev, fn, PCI_REVISION);
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	d->vendor = id & 0xffff;
	d->device = id >> 16;
	d->revision = class_reg & 0xff;
	d->prog_if = (class_reg >> 8) & 0xff;
	d->subclass = (class_reg >> 16) & 0xff;
	d->class_code = class_reg >> 24;
	d->header_type = pci_read8(d, PCI_HEADER_TYPE);
	if ((d->header_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_BRIDGE) {
		uint8_t secondary = pci_read8(d, PCI_SECONDARY_BUS);
		/* Firmware numbered the buses; a secondary at or below this bus would loop. */
		if (secondary > bus && depth < PCI_BUSES)
			scan_bus(secondary, depth + 1);
	}
}

static void scan_bus(uint8_t bus, unsigned depth)
{
	for (uint8_t dev = 0; dev < PCI_DEVICES; dev++) {
		uint32_t id = config_read32(bus, dev, 0, PCI_VENDOR_ID);
		if ((id & 0xffff) == PCI_VENDOR_NONE)
			continue;
		uint8_t header = (config_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16) & 0xff;
		unsigned functions = (header & PCI_HEADER_MULTIFUNCTION) ? PCI_FUNCTIONS : 1;
		for (uint8_t fn = 0; fn < functions; fn++)
			scan_function(bus, dev, fn, depth);
	}
}

int pci_init(uint64_t acpi_rsdp)
{
	device_count = 0;
	mechanism = MECH_PORTS;
	find_ecam(acpi_rsdp);
	if (mechanism == MECH_ECAM)
		klog_info("pci: ECAM at %#llx for buses %u-%u (ACPI MCFG)",
			  (unsigned long long)ecam_base, ecam_start_bus, ecam_end_bus);
	else
		klog_info("pci: no ACPI MCFG table; configuration through ports 0xcf8/0xcfc");
	scan_bus(mechanism == MECH_ECAM ? ecam_start_bus : 0, 0);
	klog_info("pci: %u functions", device_count);
	return (int)device_count;
}

const char *pci_mechanism(void)
{
	switch (mechanism) {
	case MECH_ECAM:  return "ecam";
	case MECH_PORTS: return "ports";
	default:         return "none";
	}
}

unsigned pci_device_count(void)
{
	return device_count;
}

const struct pci_device *pci_device_at(unsigned index)
{
	return index < device_count ? &devices[index] : NULL;
}

const struct pci_device *pci_find(uint16_t vendor, uint16_t device)
{
	for (unsigned i = 0; i < device_count; i++)
		if (devices[i].vendor == vendor && devices[i].device == device)
			return &devices[i];
	return NULL;
}

#define PCI_BAR_COUNT 6
#define PCI_BAR_ALL_ONES 0xffffffffu

int pci_bar_read(const struct pci_device *d, unsigned index, struct pci_bar *out)
{
	if (index >= PCI_BAR_COUNT)
		return FERR_INVAL;
	uint16_t reg = PCI_BAR0 + index * 4;
	uint16_t command = pci_read16(d, PCI_COMMAND);
	uint32_t low = pci_read32(d, reg);
	bool io = low & PCI_BAR_IO;
	bool wide = !io && (low & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
	if (wide && index + 1 >= PCI_BAR_COUNT)
		return FERR_INVAL;
	uint32_t high = wide ? pci_read32(d, reg + 4) : 0;

	/* Size it: with decoding off, write all ones and read back which bits stick. */
	pci_write16(d, PCI_COMMAND, command & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	pci_write32(d, reg, PCI_BAR_ALL_ONES);
	uint32_t mask_low = pci_read32(d, reg);
	pci_write32(d, reg, low);
	uint32_t mask_high = PCI_BAR_ALL_ONES;
	if (wide) {
		pci_write32(d, reg + 4, PCI_BAR_ALL_ONES);
		mask_high = pci_read32(d, reg + 4);
		pci_write32(d, reg + 4, high);
	}
	pci_write16(d, PCI_COMMAND, command);

	uint32_t addr_mask = io ? PCI_BAR_IO_ADDR_MASK : PCI_BAR_MEM_ADDR_MASK;
	if (!(mask_low & addr_mask))
		return FERR_NOENT;
	out->io = io;
	out->base = ((uint64_t)high << 32) | (low & addr_mask);
	if (io) {
		/* I/O BARs decode 16 bits on x86; the upper bits may read back as zero. */
		out->size = (uint32_t)(~(mask_low & addr_mask) + 1) & 0xffffu;
	} else {
		uint64_t mask = (uint64_t)mask_high << 32 | (mask_low & addr_mask);
		out->size = ~mask + 1;
	}
	return FERR_OK;
}

void pci_enable_bus_master(const struct pci_device *d)
{
	uint16_t command = pci_read16(d, PCI_COMMAND);
	pci_write16(d, PCI_COMMAND, command | PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
				    PCI_COMMAND_BUS_MASTER);
}

const char *pci_class_name(uint8_t class_code)
{
	static const char *const names[] = {
		"unclassified", "storage", "network", "display", "multimedia", "memory",
		"bridge", "communication", "system", "input", "docking", "processor",
		"serial-bus", "wireless", "intelligent-io", "satellite", "crypto", "signal",
	};
	return class_code < sizeof(names) / sizeof(names[0]) ? names[class_code] : "other";
}
