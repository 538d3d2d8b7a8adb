/*
 * Host tool: lays out a Linux guest's memory as Ferry will, with Ferry's own code (the
 * bzImage loader, kernel/vm/loader_linux.c, and the ACPI tables, kernel/vdev/acpi.c),
 * and writes it as blobs for QEMU's generic loader, so that QEMU can run the kernel from
 * exactly that state (tests/tools/linux_entry_stub.S enters it; tests/test_linux_oracle.py
 * boots it). Writes into OUTDIR: low.bin (GPA 0: the loader's structures, and the stub's
 * parameter block at 0x500), acpi.bin (the tables), kernel.bin, initrd.bin, and
 * qemu.args: the -device loader arguments, one a line. Test tool only.
 *
 * Usage: linux_boot_image KERNEL INITRD OUTDIR MEMORY_MIB CMDLINE [BASE,SIZE,GSI,COUNT]
 *
 * The optional last argument declares COUNT virtio-mmio windows of SIZE bytes from BASE on
 * GSIs from GSI (in the DSDT, and in e820 as reserved): QEMU's microvm has its own
 * transports (at 0xFEB00000, 512 bytes each, GSI 5 up without ACPI), which Ferry's
 * tables can describe to check the DSDT's virtio entries against a real kernel.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/lib/errors.h"
#include "kernel/vdev/acpi.h"
#include "kernel/vm/loader_linux.h"

/* The stub's parameter block (offsets as in linux_entry_stub.S). */
#define STUB_PARAMS_GPA 0x500
#define LOW_BLOB_BYTES  (LINUX_CMDLINE_GPA + LINUX_CMDLINE_MAX)

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *data = NULL;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n)) && fread(data, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(data);
		data = NULL;
	}
	if (f)
		fclose(f);
	return data;
}

static FILE *args;

static int blob(const char *dir, const char *name, const uint8_t *ram, uint64_t gpa, uint64_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(ram + gpa, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return 1;
	}
	fprintf(args, "loader,file=%s,addr=0x%llx,force-raw=on\n", path, (unsigned long long)gpa);
	return 0;
}

static void put(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
	size_t kernel_len = 0, initrd_len = 0;
	const char *why = NULL;

	struct acpi_virtio_device virtio[PLATFORM_VIRTIO_MAX];
	unsigned long long vbase = 0, vsize = 0, vgsi = 0, vcount = 0;

	if ((argc != 6 && argc != 7) ||
	    (argc == 7 && (sscanf(argv[6], "%lli,%lli,%lli,%lli", &vbase, &vsize, &vgsi, &vcount) != 4 ||
			   vcount > PLATFORM_VIRTIO_MAX))) {
		fprintf(stderr, "usage: linux_boot_image KERNEL INITRD OUTDIR MEMORY_MIB CMDLINE "
				"[BASE,SIZE,GSI,COUNT]\n");
		return 2;
	}
	for (unsigned i = 0; i < vcount; i++)
		virtio[i] = (struct acpi_virtio_device){ vbase + i * vsize, (uint32_t)vsize, (uint32_t)(vgsi + i) };
	uint64_t ram_bytes = strtoull(argv[4], NULL, 0) << 20;
	uint8_t *kernel = read_file(argv[1], &kernel_len), *initrd = read_file(argv[2], &initrd_len);
	uint8_t *ram = calloc(1, ram_bytes);
	if (!kernel || !initrd || !ram) {
		fprintf(stderr, "linux_boot_image: cannot read %s or %s, or no memory\n", argv[1], argv[2]);
		return 1;
	}

	struct acpi_config acpi;
	struct acpi_layout layout;
	acpi_default_config(&acpi, virtio, (unsigned)vcount);
	if (acpi_build(&acpi, ram + PLATFORM_ACPI_GPA, PLATFORM_ACPI_BYTES, &layout, &why) != 0) {
		fprintf(stderr, "linux_boot_image: ACPI: %s\n", why);
		return 1;
	}
	struct linux_e820_range windows[3] = {
		{ PLATFORM_IOAPIC_GPA, IOAPIC_PAGE_BYTES }, { PLATFORM_LAPIC_GPA, APIC_PAGE_BYTES },
		{ vbase, vcount * vsize } };
	struct linux_boot_config cfg = {
		.ram_bytes = ram_bytes, .cmdline = argv[5], .initrd = initrd, .initrd_bytes = initrd_len,
		.acpi_gpa = PLATFORM_ACPI_GPA, .acpi_bytes = PLATFORM_ACPI_BYTES, .rsdp_gpa = layout.rsdp,
		.reserved = windows, .reserved_count = vcount ? 3 : 2,
	};
	struct linux_entry_state e;
	struct linux_bzimage k;
	if (linux_parse_bzimage(kernel, kernel_len, &k, &why) != 0 || linux_load(kernel, kernel_len, &cfg, ram, &e, &why) != 0) {
		fprintf(stderr, "linux_boot_image: %s\n", why);
		return 1;
	}

	uint8_t *p = ram + STUB_PARAMS_GPA;
	put(p + 0x00, e.cpu.cr0, 8);
	put(p + 0x08, e.cpu.cr3, 8);
	put(p + 0x10, e.cpu.cr4, 8);
	put(p + 0x18, e.cpu.efer, 8);
	put(p + 0x20, e.cpu.rip, 8);
	put(p + 0x28, e.cpu.rsp, 8);
	put(p + 0x30, e.cpu.rsi, 8);
	put(p + 0x38, e.cpu.gdt_limit, 2);
	put(p + 0x3a, e.cpu.gdt_base, 8);
	put(p + 0x48, e.cpu.cs_selector, 2);
	put(p + 0x4a, e.cpu.ds_selector, 2);

	char path[4096];
	snprintf(path, sizeof(path), "%s/qemu.args", argv[3]);
	args = fopen(path, "w");
	if (!args) {
		perror(path);
		return 1;
	}
	int bad = blob(argv[3], "low.bin", ram, 0, LOW_BLOB_BYTES) |
		  blob(argv[3], "acpi.bin", ram, PLATFORM_ACPI_GPA, layout.bytes) |
		  blob(argv[3], "kernel.bin", ram, e.kernel_gpa, k.kernel_bytes) |
		  blob(argv[3], "initrd.bin", ram, e.initrd_gpa, e.initrd_bytes);
	fclose(args);
	printf("kernel at 0x%llx (entry 0x%llx, needs up to 0x%llx), initramfs at 0x%llx (%llu bytes)\n",
	       (unsigned long long)e.kernel_gpa, (unsigned long long)e.cpu.rip,
	       (unsigned long long)e.kernel_end, (unsigned long long)e.initrd_gpa,
	       (unsigned long long)e.initrd_bytes);
	free(ram);
	free(kernel);
	free(initrd);
	return bad;
}
