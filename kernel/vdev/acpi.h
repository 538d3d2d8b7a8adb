/*
 * The ACPI tables of a Linux guest (ACPI 6.5 ch. 5): the small hardware-reduced set of
 * Firecracker and QEMU's microvm, which Debian's kernel accepts and which makes it skip
 * the PIT, the 8259 and the PM timer:
 *
 *   RSDP (revision 2) -> XSDT -> FADT (HW_REDUCED_ACPI) -> DSDT
 *                             -> MADT (one local APIC, one I/O APIC, LINT1 as NMI)
 *
 * The FADT's sleep control and status registers and its reset register are one-byte I/O
 * ports (PLATFORM_SLEEP_* and PLATFORM_RESET_* in platform.h), so that `poweroff` and
 * `reboot` in the guest are I/O writes the VM layer traps. The DSDT, encoded by aml.c,
 * holds \_S5_ (the sleep type `poweroff` writes) and, under \_SB_, COM1 (PNP0501, its 8
 * ports and GSI 4) and N virtio-mmio devices (LNRO0005, a 4 KiB window and a GSI each;
 * N may be 0). No interrupt source override: there is no PIT on ISA IRQ 0, and COM1's IRQ
 * 4 is GSI 4 with the ISA defaults (edge, active high).
 *
 * acpi_build() writes them into a buffer that the caller places at `table_gpa` in guest
 * memory (pointers in the tables are guest-physical), RSDP first: so a buffer at 0xE0000
 * is also found by Linux's scan of the BIOS area. Every table's length and checksum are
 * set; nothing else is assumed of the buffer. Portable (image and host).
 */
#ifndef FERRY_VDEV_ACPI_H
#define FERRY_VDEV_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/vdev/platform.h"

/* Sleep control register (ACPI 6.5 4.8.3.7): SLP_TYP in bits 4:2, SLP_EN bit 5. The
 * status register's WAK_STS is bit 7 (4.8.3.8): the guest writes it to clear it. */
#define ACPI_SLEEP_TYPE_SHIFT 2
#define ACPI_SLEEP_TYPE_MASK  (7u << 2)
#define ACPI_SLEEP_ENABLE     (1u << 5)
#define ACPI_WAKE_STATUS      (1u << 7)

struct acpi_virtio_device {
	uint64_t base;   /* guest-physical window, below 4 GiB */
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	uint64_t table_gpa;             /* where the buffer will sit; 16-byte aligned, below 4 GiB */
	uint32_t lapic_gpa, ioapic_gpa;
	uint8_t apic_id, ioapic_id;
	uint32_t ioapic_gsi_base;
	uint16_t com1_port;
	uint32_t com1_gsi;
	const struct acpi_virtio_device *virtio;
	unsigned virtio_count;          /* at most PLATFORM_VIRTIO_MAX */
	uint16_t sleep_control_port, sleep_status_port, reset_port;
	uint8_t reset_value;
};

/* Where each table landed (guest-physical) and how many bytes were written. */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, madt, dsdt;
	size_t bytes;
};

/* The platform of platform.h at PLATFORM_ACPI_GPA, with `virtio` (may be NULL when
 * virtio_count is 0). */
void acpi_default_config(struct acpi_config *cfg, const struct acpi_virtio_device *virtio,
			 unsigned virtio_count);

/* Builds the tables into buf (cap bytes). Returns 0 and fills *layout, FERR_INVAL for a
 * configuration it cannot describe, or FERR_TOOBIG when buf is too small; *why says what. */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap, struct acpi_layout *layout,
	       const char **why);

#endif
