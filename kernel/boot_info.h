/*
 * What the UEFI entry (boot/) hands the kernel after ExitBootServices: the
 * memory map in Ferry's own terms, the files read from the ESP, the ACPI RSDP,
 * the firmware's runtime services, the TSC frequency and where Ferry's image and
 * stacks are. After the hand-off nothing of the firmware is used but its
 * runtime services (for power-off and reset).
 */
#ifndef FERRY_BOOT_INFO_H
#define FERRY_BOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_MAX_REGIONS 512
#define BOOT_MAX_FILES   32
#define BOOT_FILE_NAME   40

enum boot_region_type {
	REGION_USABLE,           /* free RAM: conventional memory */
	REGION_USABLE_LATER,     /* firmware boot-services memory, free once Ferry runs on its own tables */
	REGION_FERRY,            /* Ferry's image, stacks, and what the loader read (never reused) */
	REGION_RUNTIME_CODE,     /* UEFI runtime services code: must stay executable */
	REGION_RUNTIME_DATA,
	REGION_ACPI,             /* ACPI tables and NVS */
	REGION_RESERVED,         /* everything else, MMIO included */
};

struct boot_region {
	uint64_t phys;
	uint64_t frames;
	enum boot_region_type type;
};

struct boot_file {
	char name[BOOT_FILE_NAME];   /* path on the ESP, e.g. "guests/counter.elf" */
	const uint8_t *data;
	uint64_t size;
};

struct boot_info {
	struct boot_region regions[BOOT_MAX_REGIONS];
	unsigned region_count;
	struct boot_file files[BOOT_MAX_FILES];
	unsigned file_count;
	const char *config_text;     /* ferry.cfg, or NULL when the ESP has none */
	size_t config_len;
	uint64_t acpi_rsdp;          /* physical address, 0 when absent */
	void *runtime_services;      /* EFI_RUNTIME_SERVICES */
	uint64_t tsc_hz;
	uint64_t image_base;
	uint64_t image_size;
	uint64_t stack_base;         /* lowest address of the boot stack; its guard page is below */
	uint64_t stack_size;
	uint64_t ist_stack_base;     /* stack for double faults and NMIs */
	uint64_t ist_stack_size;
	uint64_t frame_bitmap;       /* storage for the frame allocator's bitmap */
	uint64_t frame_bitmap_bytes;
	uint64_t max_phys;           /* end of the highest region in the map */
};

/* The kernel's entry, on Ferry's own stack, after ExitBootServices. */
__attribute__((noreturn)) void kernel_main(struct boot_info *info);

#endif
