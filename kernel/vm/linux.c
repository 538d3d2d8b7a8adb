/*
 * The Linux guest: creation from the ESP's bzImage and initramfs on Ferry's Linux
 * platform, and its power requests (see vm_internal.h). The boot path is
 * kernel/vm/loader_linux.c (the boot protocol) and kernel/vdev/acpi.c (the tables); the
 * platform at run time is kernel/vm/platform.c; docs/linux-guest.md tells the whole.
 */
#include "arch/x86/cpu_features.h"
#include "arch/x86/cpu_state.h"
#include "arch/x86/x86.h"
#include "kernel/host.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/log.h"
#include "kernel/vdev/acpi.h"
#include "kernel/vdev/platform.h"
#include "kernel/vm/loader_linux.h"
#include "kernel/vm/nic.h"
#include "kernel/vm/vm_internal.h"

#include <string.h>

#define LINUX_KERNEL_FILE "guests/vmlinuz"
#define LINUX_INITRD_FILE "guests/initramfs.cpio.gz"
#define HZ_PER_KHZ 1000u

/*
 * Ferry's command line for a Linux guest (docs/linux-guest.md says why each word):
 * the console on COM1 and an early one before the driver binds; no KASLR (the loader's
 * identity map covers the load address); the TSC trusted (no watchdog: there is no
 * other clocksource); freed pages zeroed, so a migration elides them; one 8250 port;
 * reboot through the FADT's reset register.
 */
#define LINUX_CMDLINE_BASE \
	"console=ttyS0 earlycon=uart8250,io,0x3f8 nokaslr tsc=reliable init_on_free=1 " \
	"8250.nr_uarts=1 reboot=acpi"

static void cmdline_for(const struct vm *vm, char *out, size_t cap)
{
	size_t n = fmt_snprintf(out, cap, "%s", LINUX_CMDLINE_BASE);

	/* Linux reads the TSC leaves of CPUID on Intel CPUs only: on AMD it is told the rate. */
	if (vcpu_hw_vendor() == VCPU_VENDOR_AMD && n < cap)
		n += fmt_snprintf(out + n, cap - n, " tsc_early_khz=%llu",
				  (unsigned long long)(vm->tsc_hz / HZ_PER_KHZ));
	if (vm->linux_args[0] && n < cap)
		fmt_snprintf(out + n, cap - n, " %s", vm->linux_args);
}

/*
 * Writes the ACPI tables, the kernel, its command line and the initramfs into the
 * guest's (zeroed) RAM and the entry state into its vCPU; the devices are the caller's.
 */
static int boot(struct vm *vm, const struct boot_file *kernel, const struct boot_file *initrd,
		const char **why)
{
	static char cmdline[LINUX_CMDLINE_MAX];
	struct acpi_config acpi;
	struct acpi_layout layout;
	uint8_t *ram = vm_ram(vm);

	/* The network card is virtio-mmio device 0: LNRO0005 in the DSDT, its window reserved. */
	const struct acpi_virtio_device nic = {
		PLATFORM_VIRTIO_MMIO_BASE, PLATFORM_VIRTIO_MMIO_SIZE, PLATFORM_VIRTIO_FIRST_GSI,
	};
	unsigned nics = vm->nic ? 1 : 0;
	acpi_default_config(&acpi, &nic, nics);
	int err = acpi_build(&acpi, ram + PLATFORM_ACPI_GPA, PLATFORM_ACPI_BYTES, &layout, why);
	if (err)
		return err;
	const struct linux_e820_range reserved[] = {
		{ PLATFORM_IOAPIC_GPA, IOAPIC_PAGE_BYTES },
		{ PLATFORM_LAPIC_GPA, APIC_PAGE_BYTES },
		{ PLATFORM_VIRTIO_MMIO_BASE, PLATFORM_VIRTIO_MMIO_SIZE },   /* the last: only with a NIC */
	};
	cmdline_for(vm, cmdline, sizeof(cmdline));
	struct linux_boot_config cfg = {
		.ram_bytes = vm->ram_bytes,
		.cmdline = cmdline,
		.initrd = initrd->data,
		.initrd_bytes = initrd->size,
		.acpi_gpa = PLATFORM_ACPI_GPA,
		.acpi_bytes = PLATFORM_ACPI_BYTES,
		.rsdp_gpa = layout.rsdp,
		.reserved = reserved,
		.reserved_count = sizeof(reserved) / sizeof(reserved[0]) - 1 + nics,
	};
	struct linux_entry_state entry;
	err = linux_load(kernel->data, kernel->size, &cfg, ram, &entry, why);
	if (err)
		return err;
	struct x86_cpu_state regs;
	x86_entry_cpu_state(&entry.cpu, &regs);
	vcpu_set_state(vm->vcpu, &regs);
	vcpu_set_guest_tsc(vm->vcpu, 0);
	return FERR_OK;
}

static int find_files(const struct boot_file **kernel, const struct boot_file **initrd, const char **why)
{
	*kernel = host_file(LINUX_KERNEL_FILE);
	*initrd = host_file(LINUX_INITRD_FILE);
	if (!*kernel || !*initrd) {
		*why = "the Linux guest's files are not on the ESP (guests/vmlinuz and "
		       "guests/initramfs.cpio.gz: make esp-linux)";
		return FERR_NOENT;
	}
	return FERR_OK;
}

/*
 * memory_mib against what this kernel and initramfs need (linux_min_ram_bytes()), from
 * the setup header alone: a refusal names the minimum and allocates nothing.
 */
static int check_memory(uint64_t memory_mib, const struct boot_file *kernel,
			const struct boot_file *initrd, const char **why)
{
	static char text[VM_WHY_MAX];
	uint64_t min_bytes;
	int err = linux_min_ram_bytes(kernel->data, kernel->size, initrd->size, &min_bytes, why);

	if (err)
		return err;
	if (memory_mib >= min_bytes / MIB)
		return FERR_OK;
	fmt_snprintf(text, sizeof(text), "memory=%llu: this kernel and initramfs need at least "
		     "memory=%llu (MiB)", (unsigned long long)memory_mib,
		     (unsigned long long)(min_bytes / MIB));
	*why = text;
	return FERR_RANGE;
}

int vm_create_linux(const char *name, uint64_t memory_mib, const uint8_t *mac, const char *args,
		    struct vm **out, const char **why)
{
	const struct boot_file *kernel, *initrd;
	struct cpuid_platform cpuid;
	struct vm *vm;

	if (!vm_supported()) {
		*why = "this host cannot run guests (no usable VT-x or AMD-V; see dmesg)";
		return FERR_NOTSUP;
	}
	int err = find_files(&kernel, &initrd, why);
	if (err)
		return err;
	err = check_memory(memory_mib, kernel, initrd, why);
	if (err)
		return err;
	if (args && strlen(args) >= VM_LINUX_ARGS_MAX) {
		*why = "args= for a Linux guest is at most 255 characters";
		return FERR_TOOBIG;
	}
	err = vm_build_shell(name, memory_mib, mac, &vm, why);
	if (err)
		return err;
	if (args)
		memcpy(vm->linux_args, args, strlen(args) + 1);
	cpuid_platform_for_tsc(vm->tsc_hz, &cpuid);
	if (mac)   /* mac= gives the guest its network card on the virtual switch */
		err = vm_nic_create(vm, true, why);
	if (!err)
		err = boot(vm, kernel, initrd, why);
	if (!err)
		err = vm_platform_init(vm, &cpuid, why);
	if (!err)
		err = vm_nic_add_window(vm);
	if (err) {
		vm_teardown(vm);
		return err;
	}
	vm->state = VM_RUNNING;
	klog_info("guest %s: created from %s, %llu MiB, id %u", vm->name, LINUX_KERNEL_FILE,
		  (unsigned long long)memory_mib, vm->id);
	*out = vm;
	return FERR_OK;
}

/* A reset: RAM cleared and the kernel booted again, the devices at their reset state. */
static void reset(struct vm *vm)
{
	const struct boot_file *kernel, *initrd;
	struct cpuid_platform cpuid = vm->platform.cpuid;
	const char *why = "";

	memset(vm_ram(vm), 0, vm->ram_bytes);
	vm->dirty_all = vm->dirty_logging;   /* a migration must send it all again */
	vdev_uart_init(&vm->uart, vm->uart.on_line, vm->uart.ctx);
	int err = find_files(&kernel, &initrd, &why);
	if (!err)
		err = boot(vm, kernel, initrd, &why);
	if (!err)
		err = vm_platform_init(vm, &cpuid, &why);
	if (!err) {
		vm_nic_reset(vm);
		err = vm_nic_add_window(vm);
	}
	if (err) {
		vm_stop(vm, "reset failed: %s", why);
		return;
	}
	klog_info("guest %s: reset; booting again", vm->name);
}

void vm_linux_power(struct vm *vm, enum vm_power_request request)
{
	switch (request) {
	case VM_POWER_OFF:
		vm->state = VM_STOPPED;
		fmt_snprintf(vm->stop_reason, sizeof(vm->stop_reason), "powered off");
		klog_info("guest %s: powered off", vm->name);
		break;
	case VM_POWER_RESET:
		reset(vm);
		break;
	case VM_POWER_NONE:
		break;
	}
}
