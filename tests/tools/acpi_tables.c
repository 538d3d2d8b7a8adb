/*
 * Host tool: writes the Linux guest's ACPI tables (kernel/vdev/acpi.c) as files, one per
 * table (rsdp.dat, xsdt.dat, facp.dat, apic.dat, dsdt.dat), so that tests can hand them
 * to iasl's disassembler (tests/test_acpi_tables.py).
 *
 * Usage: acpi_tables DIR [VIRTIO_COUNT]
 */
#include <stdio.h>
#include <stdlib.h>

#include "kernel/vdev/acpi.h"

static uint8_t tables[PLATFORM_ACPI_BYTES];

static uint32_t length_at(uint64_t gpa)
{
	const uint8_t *p = tables + (gpa - PLATFORM_ACPI_GPA) + 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int write_table(const char *dir, const char *name, uint64_t gpa, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(tables + (gpa - PLATFORM_ACPI_GPA), 1, len, f) != len) {
		perror(path);
		return 1;
	}
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	struct acpi_virtio_device virtio[PLATFORM_VIRTIO_MAX];
	struct acpi_config cfg;
	struct acpi_layout layout;
	const char *why = NULL;
	unsigned count = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 1;

	if (argc < 2 || count > PLATFORM_VIRTIO_MAX) {
		fprintf(stderr, "usage: acpi_tables DIR [VIRTIO_COUNT (0-%u)]\n", PLATFORM_VIRTIO_MAX);
		return 2;
	}
	for (unsigned i = 0; i < count; i++)
		virtio[i] = (struct acpi_virtio_device){
			.base = PLATFORM_VIRTIO_MMIO_BASE + (uint64_t)i * PLATFORM_VIRTIO_MMIO_SIZE,
			.size = PLATFORM_VIRTIO_MMIO_SIZE,
			.gsi = PLATFORM_VIRTIO_FIRST_GSI + i,
		};
	acpi_default_config(&cfg, virtio, count);
	if (acpi_build(&cfg, tables, sizeof(tables), &layout, &why) != 0) {
		fprintf(stderr, "acpi_tables: %s\n", why);
		return 1;
	}
	return write_table(argv[1], "rsdp", layout.rsdp, 36) |
	       write_table(argv[1], "xsdt", layout.xsdt, length_at(layout.xsdt)) |
	       write_table(argv[1], "facp", layout.fadt, length_at(layout.fadt)) |
	       write_table(argv[1], "apic", layout.madt, length_at(layout.madt)) |
	       write_table(argv[1], "dsdt", layout.dsdt, length_at(layout.dsdt));
}
