/*
 * kernel_main: Ferry after ExitBootServices, its bring-up in order: Ferry's own
 * descriptor tables and crash reports (the arch's half of panic), time, the
 * entropy source, power,
 * memory and page tables, the host's configuration (ferry.cfg), PCI and the NIC,
 * the network,
 * guests and migration, then the shell on the console, whose output is queued
 * and drained by a poller from then on.
 * From then on the main loop calls every registered poller, forever. Nothing here
 * does work of its own: each step is its module's.
 */
#include "kernel/boot_info.h"
#include "kernel/console.h"
#include "kernel/host.h"
#include "kernel/log.h"
#include "kernel/migration/service.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/poll.h"
#include "kernel/shell/shell.h"
#include "kernel/vm/vm.h"
#include "arch/x86/clock.h"
#include "arch/x86/entropy.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/paging.h"
#include "arch/x86/power.h"
#include "arch/x86/trap.h"
#include "drivers/e1000.h"
#include "drivers/pci.h"
#include "kernel/lib/errors.h"
#include "net/net.h"

void kernel_main(struct boot_info *info)
{
	gdt_init(info->ist_stack_base + info->ist_stack_size);
	idt_init();
	trap_init(info->image_base, info->image_size, info->stack_base, info->stack_size,
		  info->ist_stack_base, info->ist_stack_size);
	panic_attach(&trap_panic_arch);
	struct clock_counter tsc = tsc_clock_counter(info->tsc_hz);
	clock_init(&tsc);
	entropy_init();
	power_init(info->runtime_services);
	memory_init(info);
	paging_init(info);
	memory_reclaim_boot_services(info);
	host_init(info);
	pci_init(info->acpi_rsdp);
	struct nic *nic = NULL;
	int nic_err = e1000_probe(&nic);
	if (nic_err)
		klog_warn("net: no usable NIC (%s); networking is off", err_name(nic_err));
	net_init(nic);
	vm_init();
	migrate_service_init();

	poll_register("console", shell_poll, POLL_CONSOLE);
	poll_register("console-out", console_drain, POLL_BACKGROUND);
	klog_info("ferry ready");
	shell_start();
	console_start_queue();
	for (;;)
		poll_run_all();
}
