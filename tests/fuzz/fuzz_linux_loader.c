/*
 * libFuzzer target for the Linux bzImage loader (kernel/vm/loader_linux.c): arbitrary
 * bytes as the image (after 8 bytes that pick the guest's RAM size, command line,
 * initramfs size and platform description), loaded into an 8 MiB guest RAM. A crash, a
 * sanitizer report, a write outside RAM, a refusal without a reason, or an entry state
 * outside RAM is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/platform.h"
#include "kernel/vm/loader_linux.h"

#define PARAM_BYTES    8
#define FUZZ_RAM_BYTES (8ull << 20)
#define SEED_SETUP_SECTS 1

static const struct linux_e820_range windows[] = {
	{ PLATFORM_VIRTIO_MMIO_BASE, 0x1000 }, { PLATFORM_IOAPIC_GPA, 0x1000 },
	{ PLATFORM_LAPIC_GPA, 0x1000 }, { PLATFORM_VIRTIO_MMIO_BASE + 0x800, 0x1000 },   /* overlaps the first */
	{ 0x100000, 0x1000 },                                                             /* overlaps RAM */
};

static void put(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A small, valid protocol-2.15 image loading at 1 MiB, with parameters that fit. */
	static uint8_t seed[PARAM_BYTES + (SEED_SETUP_SECTS + 1) * 512 + 0x1000];
	uint8_t *img = seed + PARAM_BYTES;
	seed[0] = 6;      /* 8 MiB */
	seed[2] = 40;     /* command line length */
	seed[3] = 2;      /* initramfs KiB */
	seed[5] = 3;      /* reserved windows */
	img[0x1f1] = SEED_SETUP_SECTS;
	put(img + 0x1f4, 0x1000 / 16, 4);
	put(img + 0x1fe, 0xaa55, 2);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;
	memcpy(img + 0x202, "HdrS", 4);
	put(img + 0x206, 0x020f, 2);
	img[0x211] = 0x01;
	put(img + 0x22c, 0x7fffffff, 4);
	put(img + 0x230, 0x200000, 4);
	img[0x234] = 1;
	put(img + 0x236, 0x7f, 2);
	put(img + 0x238, 2047, 4);
	put(img + 0x258, 0x200000, 8);
	put(img + 0x260, 0x100000, 4);
	fuzz_write_seed("tiny", seed, sizeof(seed));
	/* The seed must load: the success path is where the invariants below bite. */
	static uint8_t check_ram[4ull << 20];
	struct linux_boot_config cfg = { .ram_bytes = sizeof(check_ram), .cmdline = "x",
					 .initrd = img, .initrd_bytes = 2048 };
	struct linux_entry_state e;
	if (linux_load(img, sizeof(seed) - PARAM_BYTES, &cfg, check_ram, &e, NULL) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	static int ram_dirty = 1;
	static const char line[] = "console=ttyS0 earlycon=uart8250,io,0x3f8 nokaslr tsc=reliable "
				   "init_on_free=1 8250.nr_uarts=1 and some more words to be cut";
	struct linux_entry_state e;
	const char *why = NULL;

	if (size < PARAM_BYTES)
		return 0;
	if (!ram)
		ram = malloc(FUZZ_RAM_BYTES);
	if (ram_dirty)
		memset(ram, 0, FUZZ_RAM_BYTES);

	const uint8_t *image = data + PARAM_BYTES;
	size_t image_len = size - PARAM_BYTES;
	char cmdline[sizeof(line)];
	size_t cmdline_len = data[2] % sizeof(line);
	memcpy(cmdline, line, cmdline_len);
	cmdline[cmdline_len] = '\0';
	struct linux_boot_config cfg = {
		.ram_bytes = ((2ull + data[0] % 7) << 20) + (data[1] % 4) * 4096ull - (data[1] & 0x80),
		.cmdline = (data[7] & 1) ? NULL : cmdline,
		.initrd = image,   /* any bytes will do */
		.initrd_bytes = (size_t)data[3] * 1024 + data[4],
		.acpi_gpa = (data[6] & 1) ? 0x90000 : PLATFORM_ACPI_GPA,
		.acpi_bytes = (data[6] & 2) ? 0 : PLATFORM_ACPI_BYTES,
		.rsdp_gpa = (data[6] & 4) ? 0x100000 : PLATFORM_ACPI_GPA,
		.reserved = windows,
		.reserved_count = data[5] % (sizeof(windows) / sizeof(windows[0]) + 1),
	};
	if (cfg.initrd_bytes > image_len)
		cfg.initrd_bytes = image_len;
	if (cfg.ram_bytes > FUZZ_RAM_BYTES)
		cfg.ram_bytes = FUZZ_RAM_BYTES;

	int err = linux_load(image, image_len, &cfg, ram, &e, &why);
	ram_dirty = err == 0;
	if (err == 0) {
		if (why || e.cpu.rip < PLATFORM_HIGH_RAM_START || e.kernel_end > cfg.ram_bytes ||
		    e.cpu.rip >= e.kernel_end || e.cpu.rsp > cfg.ram_bytes)
			abort();
		if (e.initrd_bytes && (e.initrd_gpa < e.kernel_end ||
				       e.initrd_gpa + e.initrd_bytes > cfg.ram_bytes))
			abort();
		if (ram[LINUX_BOOT_PARAMS_GPA + 0x1e8] > 128)
			abort();
	} else if ((err != FERR_INVAL && err != FERR_NOMEM && err != FERR_TOOBIG) || !why || !*why) {
		abort();
	}
	return 0;
}
