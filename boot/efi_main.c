/*
 * Ferry's UEFI entry. It attaches the console to the COM1 UART first (every line
 * from then on, the boot log's included, goes out on it). While boot services run
 * it reads the ESP, calibrates the TSC, finds the ACPI RSDP and reserves the
 * memory the kernel needs before it has an allocator of its own (its stacks and
 * the frame bitmap). It then takes the memory map, calls ExitBootServices
 * (retrying with a fresh map when the key is stale, as the UEFI specification
 * requires), converts the map into Ferry's terms and enters kernel_main on
 * Ferry's own stack.
 */
#include <efi.h>
#include <efilib.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/stack.h"
#include "boot/esp_files.h"
#include "drivers/acpi_tables.h"
#include "drivers/uart16550.h"
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/console_input.h"
#include "kernel/frame_alloc.h"
#include "kernel/lib/tsc_rate.h"
#include "kernel/log.h"

#define BOOT_STACK_PAGES    32   /* 128 KiB */
#define IST_STACK_PAGES     4
#define GUARD_PAGES         1
#define TSC_CALIBRATION_US  50000
#define TSC_CALIBRATION_TRIES 10   /* a loaded emulator host: one stall in ten ends on time */
#define PM_READINGS         8          /* per end of a window: the narrowest is kept */
#define PM_WINDOW_TICKS     179000u    /* 50 ms of the PM timer */
#define PM_WINDOWS          5          /* the median of these */
#define PM_SPIN_LIMIT       1000000u   /* readings before a timer that never moves is given up */
#define EXIT_BOOT_ATTEMPTS  4
#define MAP_SLACK_DESCRIPTORS 16

static EFI_GUID acpi20_guid = ACPI_20_TABLE_GUID;

/* Pages from the firmware, kept by Ferry (loader data). Returns 0 on failure. */
static uint64_t allocate_pages(uint64_t pages)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages, EfiLoaderData,
					  pages, &addr);

	return EFI_ERROR(st) ? 0 : addr;
}

/*
 * TSC ticks over a firmware Stall, the fewest of ten tries: anything that delays this
 * CPU (an emulator's thread descheduled on a busy host) only lengthens a measurement.
 * The fallback where the platform has no ACPI PM timer: the Stall's own accuracy is the
 * firmware's (OVMF's may rest on a calibration of its own, taken once at its boot).
 */
static uint64_t tsc_over_stall(void)
{
	uint64_t best = UINT64_MAX;

	for (unsigned i = 0; i < TSC_CALIBRATION_TRIES; i++) {
		uint64_t start = rdtsc();
		uefi_call_wrapper(BS->Stall, 1, TSC_CALIBRATION_US);
		uint64_t ticks = rdtsc() - start;
		if (ticks < best)
			best = ticks;
	}
	return best * (1000000 / TSC_CALIBRATION_US);
}

/* The narrowest of a few bracketed readings of the PM timer (kernel/lib/tsc_rate.h). */
static struct tsc_reading read_pm_timer(const struct acpi_pm_timer *pm)
{
	struct tsc_reading best = { 0, UINT64_MAX, 0 };

	for (unsigned i = 0; i < PM_READINGS; i++) {
		struct tsc_reading r;
		r.tsc_before = rdtsc();
		r.counter = inl(pm->port);
		r.tsc_after = rdtsc();
		if (tsc_reading_width(&r) < tsc_reading_width(&best))
			best = r;
	}
	return best;
}

/* The TSC against the PM timer over PM_WINDOW_TICKS, the median of PM_WINDOWS windows; 0
 * when the timer does not count. */
static uint64_t tsc_over_pm_timer(const struct acpi_pm_timer *pm)
{
	uint64_t rates[PM_WINDOWS];

	for (unsigned w = 0; w < PM_WINDOWS; w++) {
		struct tsc_reading start = read_pm_timer(pm), end;
		uint64_t spins = 0;
		do {
			end = read_pm_timer(pm);
			if (++spins > PM_SPIN_LIMIT)
				return 0;   /* a timer that does not move: the Stall decides */
		} while (tsc_counter_elapsed(start.counter, end.counter, pm->bits) < PM_WINDOW_TICKS);
		rates[w] = tsc_rate_hz(&start, &end, pm->bits, ACPI_PM_TIMER_HZ);
		if (!rates[w])
			return 0;
	}
	return tsc_rate_median(rates, PM_WINDOWS);
}

/*
 * The TSC's rate, which is the rate a guest's clock runs at (a Linux guest keeps time by
 * it, and a migration between two hosts refuses when theirs differ by more than 0.5%):
 * against the ACPI PM timer, a hardware counter at a fixed frequency, where the
 * platform has one; else over the firmware's Stall. Either way a delay of this CPU
 * cannot shorten a measurement; against the PM timer it cannot lengthen one either
 * (each reading is bracketed and the narrowest kept).
 */
static uint64_t calibrate_tsc(uint64_t rsdp, const char **against)
{
	struct acpi_pm_timer pm;

	if (acpi_pm_timer(rsdp, &pm)) {
		uint64_t hz = tsc_over_pm_timer(&pm);
		if (hz) {
			*against = "the ACPI PM timer";
			return hz;
		}
	}
	*against = "the firmware's Stall";
	return tsc_over_stall();
}

static enum boot_region_type region_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
		return REGION_USABLE;
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return REGION_USABLE_LATER;
	case EfiLoaderCode:
	case EfiLoaderData:
		return REGION_FERRY;
	case EfiRuntimeServicesCode:
		return REGION_RUNTIME_CODE;
	case EfiRuntimeServicesData:
		return REGION_RUNTIME_DATA;
	case EfiACPIReclaimMemory:
	case EfiACPIMemoryNVS:
		return REGION_ACPI;
	default:
		return REGION_RESERVED;
	}
}

#define DESCRIPTOR_AT(map, i, desc_size) \
	((EFI_MEMORY_DESCRIPTOR *)((uint8_t *)(map) + (i) * (desc_size)))

/* The end of the highest RAM region Ferry may allocate from. */
static uint64_t ram_end(EFI_MEMORY_DESCRIPTOR *map, UINTN map_size, UINTN desc_size)
{
	uint64_t end = 0;

	for (UINTN i = 0; i < map_size / desc_size; i++) {
		EFI_MEMORY_DESCRIPTOR *d = DESCRIPTOR_AT(map, i, desc_size);
		enum boot_region_type t = region_type(d->Type);
		uint64_t e = d->PhysicalStart + d->NumberOfPages * FRAME_SIZE;
		if ((t == REGION_USABLE || t == REGION_USABLE_LATER) && e > end)
			end = e;
	}
	return end;
}

/* Converts the firmware map, merging neighbours of one type. No firmware calls. */
static void convert_map(struct boot_info *info, EFI_MEMORY_DESCRIPTOR *map, UINTN map_size,
			UINTN desc_size)
{
	info->region_count = 0;
	info->max_phys = 0;
	for (UINTN i = 0; i < map_size / desc_size; i++) {
		EFI_MEMORY_DESCRIPTOR *d = DESCRIPTOR_AT(map, i, desc_size);
		enum boot_region_type t = region_type(d->Type);
		uint64_t end = d->PhysicalStart + d->NumberOfPages * FRAME_SIZE;
		if (end > info->max_phys)
			info->max_phys = end;
		struct boot_region *last = info->region_count ? &info->regions[info->region_count - 1] : NULL;
		if (last && last->type == t && last->phys + last->frames * FRAME_SIZE == d->PhysicalStart) {
			last->frames += d->NumberOfPages;
			continue;
		}
		if (info->region_count == BOOT_MAX_REGIONS) {
			/* Better to lose RAM than to misdescribe it: the rest is left out. */
			break;
		}
		info->regions[info->region_count++] = (struct boot_region){
			.phys = d->PhysicalStart, .frames = d->NumberOfPages, .type = t,
		};
	}
}

static struct boot_info *boot_info_block;

static void enter_kernel(void *arg)
{
	kernel_main(arg);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	uart_init();
	console_attach_output(uart_try_putc);
	console_attach_input(uart_try_getc);
	char vendor[48];
	size_t n = 0;
	for (const CHAR16 *c = systab->FirmwareVendor; c && *c && n + 1 < sizeof(vendor); c++)
		vendor[n++] = *c < 0x80 ? (char)*c : '?';
	vendor[n] = '\0';
	klog_info("ferry %s (%s) starting under UEFI %d.%d (%s)", FERRY_VERSION, FERRY_GIT_REV,
		  systab->Hdr.Revision >> 16, systab->Hdr.Revision & 0xffff, vendor);

	uint64_t info_pages = (sizeof(struct boot_info) + FRAME_SIZE - 1) / FRAME_SIZE;
	struct boot_info *info = (struct boot_info *)(uintptr_t)allocate_pages(info_pages);
	if (!info) {
		klog_error("boot: no memory for the boot information");
		return EFI_OUT_OF_RESOURCES;
	}
	memset(info, 0, sizeof(*info));
	boot_info_block = info;

	esp_load_files(image, info);

	void *rsdp = NULL;
	if (LibGetSystemConfigurationTable(&acpi20_guid, &rsdp) == EFI_SUCCESS ||
	    LibGetSystemConfigurationTable(&AcpiTableGuid, &rsdp) == EFI_SUCCESS)
		info->acpi_rsdp = (uint64_t)(uintptr_t)rsdp;
	const char *against;
	info->tsc_hz = calibrate_tsc(info->acpi_rsdp, &against);
	klog_info("boot: TSC runs at %llu kHz (against %s)", (unsigned long long)(info->tsc_hz / 1000), against);
	info->runtime_services = systab->RuntimeServices;

	uint64_t stack = allocate_pages(BOOT_STACK_PAGES + GUARD_PAGES);
	uint64_t ist = allocate_pages(IST_STACK_PAGES + GUARD_PAGES);
	if (!stack || !ist) {
		klog_error("boot: no memory for Ferry's stacks");
		return EFI_OUT_OF_RESOURCES;
	}
	info->stack_base = stack + GUARD_PAGES * FRAME_SIZE;
	info->stack_size = BOOT_STACK_PAGES * FRAME_SIZE;
	info->ist_stack_base = ist + GUARD_PAGES * FRAME_SIZE;
	info->ist_stack_size = IST_STACK_PAGES * FRAME_SIZE;

	/* A first look at the map sizes the frame bitmap, and the buffer for the final map. */
	UINTN map_size = 0, map_key, desc_size;
	UINT32 desc_version;
	EFI_MEMORY_DESCRIPTOR *map = NULL;
	uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &map_key, &desc_size, &desc_version);
	UINTN map_capacity = map_size + MAP_SLACK_DESCRIPTORS * desc_size;
	if (EFI_ERROR(uefi_call_wrapper(BS->AllocatePool, 3, EfiLoaderData, map_capacity, (void **)&map))) {
		klog_error("boot: no memory for the memory map");
		return EFI_OUT_OF_RESOURCES;
	}
	map_size = map_capacity;
	if (EFI_ERROR(uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &map_key, &desc_size,
					&desc_version))) {
		klog_error("boot: GetMemoryMap failed");
		return EFI_LOAD_ERROR;
	}
	uint64_t frames = ram_end(map, map_size, desc_size) / FRAME_SIZE;
	info->frame_bitmap_bytes = frame_alloc_bitmap_bytes(frames);
	info->frame_bitmap = allocate_pages((info->frame_bitmap_bytes + FRAME_SIZE - 1) / FRAME_SIZE);
	if (!info->frame_bitmap) {
		klog_error("boot: no memory for the frame bitmap");
		return EFI_OUT_OF_RESOURCES;
	}

	klog_info("boot: leaving boot services");
	EFI_STATUS st = EFI_LOAD_ERROR;
	for (int attempt = 0; attempt < EXIT_BOOT_ATTEMPTS; attempt++) {
		map_size = map_capacity;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, map, &map_key, &desc_size,
				       &desc_version);
		if (EFI_ERROR(st))
			break;
		/* EFI_INVALID_PARAMETER means the map changed since we read it: read again. */
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, map_key);
		if (st != EFI_INVALID_PARAMETER)
			break;
	}
	if (EFI_ERROR(st)) {
		klog_error("boot: ExitBootServices failed (status %llx)", (unsigned long long)st);
		return st;
	}

	/* From here on the firmware is gone but for its runtime services. */
	convert_map(info, map, map_size, desc_size);
	arch_call_on_stack(info->stack_base + info->stack_size, enter_kernel, info);
}
