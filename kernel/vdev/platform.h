/*
 * The platform Ferry offers a Linux guest: where its RAM, ACPI tables and devices sit,
 * which I/O APIC pin each device drives, and the I/O ports through which the guest asks
 * to power off or reset. One home for these numbers: the ACPI builder (acpi.c) describes
 * them to the guest, the Linux loader (kernel/vm/loader_linux.c) lists them in the e820
 * map, and the VM layer routes exits by them. docs/linux-guest.md draws the map.
 * Constants only; portable.
 */
#ifndef FERRY_VDEV_PLATFORM_H
#define FERRY_VDEV_PLATFORM_H

#include "arch/x86/apic.h"

/* Guest-physical memory. RAM is [0, LOW_RAM_END) and [HIGH_RAM_START, ram size), with the
 * size at most RAM_MAX so that RAM stays below the 32-bit MMIO hole. */
#define PLATFORM_LOW_RAM_END    0xa0000ull
#define PLATFORM_HIGH_RAM_START 0x100000ull
#define PLATFORM_RAM_MAX        0xc0000000ull
#define PLATFORM_MMIO_HOLE      0xc0000000ull   /* up to 4 GiB: devices only */

/* The ACPI tables, RSDP first, in the BIOS area [0xE0000, 0x100000) where Linux also
 * scans for an RSDP when boot_params carries none. */
#define PLATFORM_ACPI_GPA   0xe0000ull
#define PLATFORM_ACPI_BYTES 0x20000ull

/* Interrupt controllers: one local APIC (ID 0) and one I/O APIC (ID 0, GSIs 0-23). */
#define PLATFORM_LAPIC_GPA     APIC_DEFAULT_BASE
#define PLATFORM_IOAPIC_GPA    IOAPIC_DEFAULT_BASE
#define PLATFORM_APIC_ID       0u
#define PLATFORM_IOAPIC_ID     0u
#define PLATFORM_IOAPIC_GSI_BASE 0u

/* COM1: the 16550 at its ISA place, on its ISA interrupt (edge, active high). */
#define PLATFORM_COM1_PORT 0x3f8u
#define PLATFORM_COM1_PORTS 8u
#define PLATFORM_COM1_GSI  4u

/* virtio-mmio devices: device i has the 4 KiB window at BASE + i * SIZE and I/O APIC pin
 * FIRST_GSI + i (edge, active high), PCI's pins on a PC, clear of the ISA ones. */
#define PLATFORM_VIRTIO_MMIO_BASE 0xd0000000ull
#define PLATFORM_VIRTIO_MMIO_SIZE 0x1000u
#define PLATFORM_VIRTIO_FIRST_GSI 16u
#define PLATFORM_VIRTIO_MAX       8u

/* Power: the hardware-reduced FADT's sleep control and status registers and its reset
 * register are one-byte I/O ports here. A guest `poweroff` writes SLP_TYP 5 with SLP_EN
 * to the control port (ACPI 6.5 4.8.3.7: (5 << 2) | 0x20 = 0x34); `reboot` writes
 * RESET_VALUE to the reset port. Nothing else lives at these ports. */
#define PLATFORM_SLEEP_CONTROL_PORT 0x600u
#define PLATFORM_SLEEP_STATUS_PORT  0x601u
#define PLATFORM_RESET_PORT         0x602u
#define PLATFORM_RESET_VALUE        0x01u
#define PLATFORM_S5_SLEEP_TYPE      5u    /* the value of \_S5_ in the DSDT */

/* The 8254 PIT's ports, where there is no PIT: they read 0, not the floating bus's 0xFF.
 * Linux on AMD calibrates the CPU clock against the PIT whatever ACPI says
 * (quick_pit_calibrate); reading 0xFF it polls port 0x42 50,000 times, one exit each
 * (8 s under QEMU's TCG), while 0 ends the attempt at the first read. */
#define PLATFORM_PIT_FIRST_PORT 0x40u
#define PLATFORM_PIT_LAST_PORT  0x43u

/* The MC146818 CMOS clock's index and data ports. The FADT says there is no CMOS RTC, but
 * Linux 6.1 reads the wall clock there at boot (mach_get_cmos_time) and, finding the
 * update-in-progress bit of 0xFF set, polls it 20,000 times. Ferry has no wall clock to
 * give: a clock stopped at 2000-01-01 00:00:00 answers (kernel/vm/platform.c). */
#define PLATFORM_RTC_INDEX_PORT 0x70u
#define PLATFORM_RTC_DATA_PORT  0x71u

#endif
