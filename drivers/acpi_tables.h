/*
 * The firmware's ACPI tables, read: a table found by signature through the XSDT (or
 * the RSDT), and the FADT's power-management timer (ACPI 6.4, 5.2.9 FADT: PM_TMR_BLK,
 * X_PM_TMR_BLK, the TMR_VAL_EXT and HW_REDUCED_ACPI flags; 4.8.3.3 the PM timer, a
 * free-running counter at 3.579545 MHz). The tables are read where the firmware left
 * them (identity-mapped). Everything returned is what the tables say, checked only for
 * shape (lengths, the address space of the timer's register).
 */
#ifndef FERRY_DRIVERS_ACPI_TABLES_H
#define FERRY_DRIVERS_ACPI_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_SDT_LENGTH     4    /* offset of a table's length in its header */
#define ACPI_SDT_HEADER     36   /* the system description table header's size */
#define ACPI_PM_TIMER_HZ    3579545ull

/* The table with `signature` (4 bytes), or NULL when rsdp_phys is 0 or no table has it. */
const uint8_t *acpi_find_table(uint64_t rsdp_phys, const char signature[4]);

struct acpi_pm_timer {
	uint16_t port;   /* an I/O port: Ferry reads the timer with IN (a 32-bit read) */
	uint8_t bits;    /* 24 or 32 (TMR_VAL_EXT) */
};

/* The PM timer the FADT describes, in I/O space: false when there is none (no FADT, a
 * hardware-reduced platform, no block, or one in memory space). */
bool acpi_pm_timer(uint64_t rsdp_phys, struct acpi_pm_timer *out);

#endif
