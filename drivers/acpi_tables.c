/* The firmware's ACPI tables, read; see acpi_tables.h. */
#include "drivers/acpi_tables.h"
#include "kernel/lib/unaligned.h"
#include "kernel/memory.h"

#include <string.h>

/* ACPI 6.4, 5.2.5 RSDP. */
#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_RSDP_REVISION  15
#define ACPI_RSDP_RSDT      16
#define ACPI_RSDP_XSDT      24

/* ACPI 6.4, 5.2.9 FADT (table 5.9): offsets and flags. */
#define FADT_PM_TMR_BLK       76
#define FADT_PM_TMR_LEN       91
#define FADT_FLAGS            112
#define FADT_X_PM_TMR_BLK     208   /* a Generic Address Structure, 12 bytes */
#define FADT_FLAG_TMR_VAL_EXT (1u << 8)
#define FADT_FLAG_HW_REDUCED  (1u << 20)
#define PM_TMR_BYTES          4
/* ACPI 6.4, 5.2.3.2 Generic Address Structure. */
#define GAS_SPACE_ID          0
#define GAS_ADDRESS           4
#define GAS_BYTES             12
#define GAS_SPACE_SYSTEM_IO   1
#define IO_PORT_MAX           0xffffu

const uint8_t *acpi_find_table(uint64_t rsdp_phys, const char signature[4])
{
	if (!rsdp_phys)
		return NULL;
	const uint8_t *rsdp = phys_to_ptr(rsdp_phys);
	if (memcmp(rsdp, ACPI_RSDP_SIGNATURE, 8) != 0)
		return NULL;
	bool use_xsdt = rsdp[ACPI_RSDP_REVISION] >= 2 && load_le64(rsdp + ACPI_RSDP_XSDT);
	const uint8_t *root = phys_to_ptr(use_xsdt ? load_le64(rsdp + ACPI_RSDP_XSDT)
						   : load_le32(rsdp + ACPI_RSDP_RSDT));
	unsigned entry_size = use_xsdt ? 8 : 4;
	uint32_t length = load_le32(root + ACPI_SDT_LENGTH);
	for (uint32_t off = ACPI_SDT_HEADER; off + entry_size <= length; off += entry_size) {
		uint64_t table = use_xsdt ? load_le64(root + off) : load_le32(root + off);
		const uint8_t *t = phys_to_ptr(table);
		if (table && memcmp(t, signature, 4) == 0)
			return t;
	}
	return NULL;
}

bool acpi_pm_timer(uint64_t rsdp_phys, struct acpi_pm_timer *out)
{
	const uint8_t *fadt = acpi_find_table(rsdp_phys, "FACP");
	if (!fadt)
		return false;
	uint32_t length = load_le32(fadt + ACPI_SDT_LENGTH);
	if (length < FADT_FLAGS + sizeof(uint32_t))
		return false;
	uint32_t flags = load_le32(fadt + FADT_FLAGS);
	if (flags & FADT_FLAG_HW_REDUCED)
		return false;
	uint64_t port = 0;
	if (length >= FADT_X_PM_TMR_BLK + GAS_BYTES) {
		const uint8_t *gas = fadt + FADT_X_PM_TMR_BLK;
		uint64_t address = load_le64(gas + GAS_ADDRESS);
		if (address && gas[GAS_SPACE_ID] != GAS_SPACE_SYSTEM_IO)
			return false;   /* a timer in memory space: not read here */
		port = address;
	}
	if (!port && fadt[FADT_PM_TMR_LEN] == PM_TMR_BYTES)
		port = load_le32(fadt + FADT_PM_TMR_BLK);
	if (!port || port > IO_PORT_MAX)
		return false;
	out->port = (uint16_t)port;
	out->bits = (flags & FADT_FLAG_TMR_VAL_EXT) ? 32 : 24;
	return true;
}
