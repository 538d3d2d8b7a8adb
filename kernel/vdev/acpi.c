/* The guest's ACPI tables (contract in acpi.h; ACPI 6.5 ch. 5, sections cited below). */
#include "kernel/vdev/acpi.h"

#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/vdev/aml.h"

#define OEM_ID        "FERRY "     /* 6 bytes */
#define OEM_TABLE_ID  "FERRYVM "   /* 8 bytes */
#define OEM_REVISION  1u
#define CREATOR_ID    "FRRY"
#define CREATOR_REVISION 1u
#define HYPERVISOR_VENDOR "FERRYVMM"   /* FADT "Hypervisor Vendor Identity" */

#define TABLE_ALIGN 16u
#define FOUR_GIB    (1ull << 32)

/* System description table header (5.2.6, Table 5.4) */
#define HDR_SIGNATURE  0
#define HDR_LENGTH     4
#define HDR_REVISION   8
#define HDR_CHECKSUM   9
#define HDR_OEM_ID     10
#define HDR_OEM_TABLE  16
#define HDR_OEM_REV    24
#define HDR_CREATOR    28
#define HDR_CREATOR_REV 32
#define HDR_BYTES      36

/* RSDP (5.2.5.3, Table 5.3) */
#define RSDP_SIGNATURE   "RSD PTR "
#define RSDP_CHECKSUM    8
#define RSDP_OEM_ID      9
#define RSDP_REVISION    15
#define RSDP_RSDT        16
#define RSDP_LENGTH      20
#define RSDP_XSDT        24
#define RSDP_EXT_CHECKSUM 32
#define RSDP_V1_BYTES    20
#define RSDP_BYTES       36
#define RSDP_REVISION_2  2

#define XSDT_REVISION 1
#define XSDT_ENTRIES  2   /* FADT, MADT */

/* FADT (5.2.9, Table 5.9), revision 6.5: 276 bytes */
#define FADT_REVISION        6
#define FADT_MINOR_VERSION   5
#define FADT_BYTES           276
#define FADT_DSDT            40
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS           112
#define FADT_RESET_REG       116
#define FADT_RESET_VALUE     128
#define FADT_MINOR           131
#define FADT_X_DSDT          140
#define FADT_SLEEP_CONTROL   244
#define FADT_SLEEP_STATUS    256
#define FADT_HYPERVISOR_ID   268
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_RESET_REG_SUP   (1u << 10)
#define FADT_SLP_BUTTON      (1u << 5)   /* no fixed sleep button */
#define FADT_PWR_BUTTON      (1u << 4)   /* no fixed power button */
/* IA-PC boot architecture flags (5.2.9.3, Table 5.11) */
#define IAPC_VGA_NOT_PRESENT   (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_PCIE_ASPM_CONTROLS (1u << 4)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

/* Generic Address Structure (5.2.3.2, Table 5.1) */
#define GAS_SPACE_SYSTEM_IO 1
#define GAS_ACCESS_BYTE     1
#define GAS_BITS_BYTE       8
#define GAS_BYTES           12

/* MADT (5.2.12, Table 5.19) and its entries */
#define MADT_REVISION      5
#define MADT_LAPIC_ADDRESS 36
#define MADT_FLAGS         40
#define MADT_ENTRIES       44
#define MADT_TYPE_LAPIC     0
#define MADT_LAPIC_BYTES    8
#define MADT_LAPIC_ENABLED  1u
#define MADT_TYPE_IOAPIC    1
#define MADT_IOAPIC_BYTES   12
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_NMI_BYTES 6
#define MADT_ALL_PROCESSORS 0xff
#define MADT_NMI_LINT       1     /* LINT1 carries NMI on a PC */
#define MADT_BYTES (MADT_ENTRIES + MADT_LAPIC_BYTES + MADT_IOAPIC_BYTES + MADT_LAPIC_NMI_BYTES)

#define DSDT_REVISION 2   /* 64-bit AML integers */

static int refuse(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* The byte that makes the sum of p[0..n) zero. */
static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

static void header(uint8_t *t, const char *signature, uint32_t length, uint8_t revision)
{
	memcpy(t + HDR_SIGNATURE, signature, 4);
	put32(t + HDR_LENGTH, length);
	t[HDR_REVISION] = revision;
	memcpy(t + HDR_OEM_ID, OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE, OEM_TABLE_ID, 8);
	put32(t + HDR_OEM_REV, OEM_REVISION);
	memcpy(t + HDR_CREATOR, CREATOR_ID, 4);
	put32(t + HDR_CREATOR_REV, CREATOR_REVISION);
}

static void seal(uint8_t *t, uint32_t length)
{
	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = checksum(t, length);
}

static void io_register(uint8_t *gas, uint16_t port)
{
	gas[0] = GAS_SPACE_SYSTEM_IO;
	gas[1] = GAS_BITS_BYTE;
	gas[2] = 0;   /* bit offset */
	gas[3] = GAS_ACCESS_BYTE;
	put64(gas + 4, port);
}

void acpi_default_config(struct acpi_config *cfg, const struct acpi_virtio_device *virtio,
			 unsigned virtio_count)
{
	*cfg = (struct acpi_config){
		.table_gpa = PLATFORM_ACPI_GPA,
		.lapic_gpa = PLATFORM_LAPIC_GPA,
		.ioapic_gpa = PLATFORM_IOAPIC_GPA,
		.apic_id = PLATFORM_APIC_ID,
		.ioapic_id = PLATFORM_IOAPIC_ID,
		.ioapic_gsi_base = PLATFORM_IOAPIC_GSI_BASE,
		.com1_port = PLATFORM_COM1_PORT,
		.com1_gsi = PLATFORM_COM1_GSI,
		.virtio = virtio,
		.virtio_count = virtio_count,
		.sleep_control_port = PLATFORM_SLEEP_CONTROL_PORT,
		.sleep_status_port = PLATFORM_SLEEP_STATUS_PORT,
		.reset_port = PLATFORM_RESET_PORT,
		.reset_value = PLATFORM_RESET_VALUE,
	};
}

/* The DSDT's AML: \_S5_ and the devices under \_SB_. Returns its length, 0 on error. */
static size_t dsdt_body(const struct acpi_config *cfg, uint8_t *buf, size_t cap, const char **why)
{
	struct aml_writer w;

	aml_init(&w, buf, cap);
	/* Sleep types for S5: SLP_TYPa, SLP_TYPb (7.4.2.5); the hardware-reduced sleep
	 * register takes SLP_TYPa. */
	aml_name_package_begin(&w, "\\_S5_");
	aml_package_integer(&w, PLATFORM_S5_SLEEP_TYPE);
	aml_package_integer(&w, 0);
	aml_end(&w);

	aml_scope_begin(&w, "\\_SB_");
	aml_device_begin(&w, "COM1");
	aml_name_eisa_id(&w, "_HID", "PNP0501");
	aml_name_integer(&w, "_UID", 0);
	aml_name_resources_begin(&w, "_CRS");
	aml_resource_io(&w, cfg->com1_port, PLATFORM_COM1_PORTS);
	aml_resource_interrupt(&w, cfg->com1_gsi, false, false);
	aml_end(&w);
	aml_end(&w);

	for (unsigned i = 0; i < cfg->virtio_count; i++) {
		const struct acpi_virtio_device *d = &cfg->virtio[i];
		char name[] = "VR00";

		name[2] = (char)('0' + i / 10);
		name[3] = (char)('0' + i % 10);
		aml_device_begin(&w, name);
		aml_name_string(&w, "_HID", "LNRO0005");
		aml_name_integer(&w, "_UID", i);
		aml_name_resources_begin(&w, "_CRS");
		aml_resource_memory32(&w, (uint32_t)d->base, d->size);
		aml_resource_interrupt(&w, d->gsi, false, false);
		aml_end(&w);
		aml_end(&w);
	}
	aml_end(&w);
	return aml_finish(&w, why);
}

static int check_config(const struct acpi_config *cfg, const char **why)
{
	if (cfg->table_gpa % TABLE_ALIGN)
		return refuse(why, "ACPI: table address not 16-byte aligned", FERR_INVAL);
	if (cfg->table_gpa >= FOUR_GIB - PLATFORM_ACPI_BYTES)
		return refuse(why, "ACPI: tables must sit below 4 GiB", FERR_INVAL);
	if (cfg->virtio_count > PLATFORM_VIRTIO_MAX)
		return refuse(why, "ACPI: too many virtio-mmio devices", FERR_INVAL);
	if (cfg->virtio_count && !cfg->virtio)
		return refuse(why, "ACPI: virtio-mmio devices missing", FERR_INVAL);
	for (unsigned i = 0; i < cfg->virtio_count; i++) {
		const struct acpi_virtio_device *d = &cfg->virtio[i];
		if (d->size == 0 || d->base >= FOUR_GIB || d->size > FOUR_GIB - d->base)
			return refuse(why, "ACPI: a virtio-mmio window outside the 32-bit space", FERR_INVAL);
	}
	return 0;
}

static size_t align_up(size_t v) { return (v + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1); }

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t cap, struct acpi_layout *layout,
	       const char **why)
{
	const size_t xsdt_bytes = HDR_BYTES + 8 * XSDT_ENTRIES;
	const size_t xsdt = align_up(RSDP_BYTES);
	const size_t fadt = align_up(xsdt + xsdt_bytes);
	const size_t madt = align_up(fadt + FADT_BYTES);
	const size_t dsdt = align_up(madt + MADT_BYTES);
	int err = check_config(cfg, why);

	if (err)
		return err;
	if (cap < dsdt + HDR_BYTES)
		return refuse(why, "ACPI: buffer too small", FERR_TOOBIG);
	memset(buf, 0, dsdt + HDR_BYTES);
	size_t aml = dsdt_body(cfg, buf + dsdt + HDR_BYTES, cap - dsdt - HDR_BYTES, why);
	if (aml == 0)
		return FERR_TOOBIG;   /* the AML writer's only failure for this fixed content */
	size_t dsdt_bytes = HDR_BYTES + aml;
	if (dsdt + dsdt_bytes > PLATFORM_ACPI_BYTES)
		return refuse(why, "ACPI: tables larger than their region", FERR_TOOBIG);

	uint64_t base = cfg->table_gpa;
	uint8_t *t;

	/* DSDT: the definition block (header + AML). */
	t = buf + dsdt;
	header(t, "DSDT", (uint32_t)dsdt_bytes, DSDT_REVISION);
	seal(t, (uint32_t)dsdt_bytes);

	/* MADT */
	t = buf + madt;
	header(t, "APIC", MADT_BYTES, MADT_REVISION);
	put32(t + MADT_LAPIC_ADDRESS, cfg->lapic_gpa);
	put32(t + MADT_FLAGS, 0);   /* no PCAT_COMPAT: there is no 8259 */
	uint8_t *e = t + MADT_ENTRIES;
	e[0] = MADT_TYPE_LAPIC;
	e[1] = MADT_LAPIC_BYTES;
	e[2] = 0;   /* ACPI processor UID */
	e[3] = cfg->apic_id;
	put32(e + 4, MADT_LAPIC_ENABLED);
	e += MADT_LAPIC_BYTES;
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_BYTES;
	e[2] = cfg->ioapic_id;
	put32(e + 4, cfg->ioapic_gpa);
	put32(e + 8, cfg->ioapic_gsi_base);
	e += MADT_IOAPIC_BYTES;
	e[0] = MADT_TYPE_LAPIC_NMI;
	e[1] = MADT_LAPIC_NMI_BYTES;
	e[2] = MADT_ALL_PROCESSORS;
	put16(e + 3, 0);   /* flags: conforms to the bus */
	e[5] = MADT_NMI_LINT;
	seal(t, MADT_BYTES);

	/* FADT */
	t = buf + fadt;
	header(t, "FACP", FADT_BYTES, FADT_REVISION);
	put32(t + FADT_DSDT, (uint32_t)(base + dsdt));
	put16(t + FADT_IAPC_BOOT_ARCH, IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
					IAPC_PCIE_ASPM_CONTROLS | IAPC_CMOS_RTC_NOT_PRESENT);
	put32(t + FADT_FLAGS, FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP | FADT_SLP_BUTTON |
				   FADT_PWR_BUTTON);
	io_register(t + FADT_RESET_REG, cfg->reset_port);
	t[FADT_RESET_VALUE] = cfg->reset_value;
	t[FADT_MINOR] = FADT_MINOR_VERSION;
	put64(t + FADT_X_DSDT, base + dsdt);
	io_register(t + FADT_SLEEP_CONTROL, cfg->sleep_control_port);
	io_register(t + FADT_SLEEP_STATUS, cfg->sleep_status_port);
	memcpy(t + FADT_HYPERVISOR_ID, HYPERVISOR_VENDOR, 8);
	seal(t, FADT_BYTES);

	/* XSDT */
	t = buf + xsdt;
	header(t, "XSDT", (uint32_t)xsdt_bytes, XSDT_REVISION);
	put64(t + HDR_BYTES, base + fadt);
	put64(t + HDR_BYTES + 8, base + madt);
	seal(t, (uint32_t)xsdt_bytes);

	/* RSDP: no RSDT (revision 2 points at the XSDT only). */
	t = buf;
	memcpy(t, RSDP_SIGNATURE, 8);
	memcpy(t + RSDP_OEM_ID, OEM_ID, 6);
	t[RSDP_REVISION] = RSDP_REVISION_2;
	put32(t + RSDP_RSDT, 0);
	put32(t + RSDP_LENGTH, RSDP_BYTES);
	put64(t + RSDP_XSDT, base + xsdt);
	t[RSDP_CHECKSUM] = checksum(t, RSDP_V1_BYTES);
	t[RSDP_EXT_CHECKSUM] = checksum(t, RSDP_BYTES);

	*layout = (struct acpi_layout){
		.rsdp = base,
		.xsdt = base + xsdt,
		.fadt = base + fadt,
		.madt = base + madt,
		.dsdt = base + dsdt,
		.bytes = dsdt + dsdt_bytes,
	};
	return 0;
}
