/*
 * PCI configuration space and device enumeration (PCI Local Bus 3.0, PCI
 * Express Base 4.0 section 7.2 for ECAM).
 *
 * pci_init() finds the configuration mechanism: the enhanced (memory-mapped,
 * ECAM) window described by the ACPI MCFG table when the firmware provides one
 * (QEMU q35), else the legacy ports 0xCF8/0xCFC (Bochs' i440fx). It then walks the
 * buses from bus 0, following PCI-to-PCI bridges, and records every function.
 * ECAM is mapped uncached one bus (1 MiB) at a time, only for buses it reaches.
 * Image only.
 */
#ifndef FERRY_DRIVERS_PCI_H
#define FERRY_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_DEVICES 64

/* Configuration-space registers (type 0 and common header). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_PROG_IF        0x09
#define PCI_SUBCLASS       0x0a
#define PCI_CLASS          0x0b
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SECONDARY_BUS  0x19   /* type 1 (bridge) header */
#define PCI_INTERRUPT_LINE 0x3c

#define PCI_COMMAND_IO          (1u << 0)
#define PCI_COMMAND_MEMORY      (1u << 1)
#define PCI_COMMAND_BUS_MASTER  (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)

#define PCI_HEADER_TYPE_MASK    0x7f
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_HEADER_BRIDGE       0x01

#define PCI_BAR_IO              (1u << 0)
#define PCI_BAR_MEM_TYPE_MASK   (3u << 1)
#define PCI_BAR_MEM_TYPE_64     (2u << 1)
#define PCI_BAR_MEM_ADDR_MASK   0xfffffff0u
#define PCI_BAR_IO_ADDR_MASK    0xfffffffcu

#define PCI_VENDOR_NONE 0xffff

struct pci_device {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t header_type;
};

/* Finds the configuration mechanism and enumerates; returns the number of functions found. */
int pci_init(uint64_t acpi_rsdp);

/* "ecam" or "ports" (or "none" before pci_init). */
const char *pci_mechanism(void);

unsigned pci_device_count(void);
const struct pci_device *pci_device_at(unsigned index);
/* The first function with this vendor and device ID, or NULL. */
const struct pci_device *pci_find(uint16_t vendor, uint16_t device);

uint32_t pci_read32(const struct pci_device *d, uint16_t offset);
uint16_t pci_read16(const struct pci_device *d, uint16_t offset);
uint8_t pci_read8(const struct pci_device *d, uint16_t offset);
void pci_write32(const struct pci_device *d, uint16_t offset, uint32_t value);
void pci_write16(const struct pci_device *d, uint16_t offset, uint16_t value);

struct pci_bar {
	uint64_t base;
	uint64_t size;
	bool io;           /* an I/O-port BAR */
};

/*
 * Decodes BAR `index` (0-5) and sizes it (decoding is off while the BAR is
 * probed with all ones). FERR_NOENT for an unimplemented BAR.
 */
int pci_bar_read(const struct pci_device *d, unsigned index, struct pci_bar *out);

/* Turns on memory (and I/O) decoding and bus mastering, so the device can DMA. */
void pci_enable_bus_master(const struct pci_device *d);

/* A short name for a class code ("network", "bridge"...). */
const char *pci_class_name(uint8_t class_code);

#endif
