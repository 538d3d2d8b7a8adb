/*
 * kernel_main: Ferry after ExitBootServices. Brings the machine under Ferry's own
 * descriptor tables, page tables and allocator, reads ferry.cfg, then runs the
 * main loop: the serial console and every registered poller, forever.
 */
#include "kernel/boot_info.h"
#include "kernel/clock.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "kernel/host.h"
#include "kernel/shell/line_editor.h"
#include "kernel/log.h"
#include "kernel/migration/service.h"
#include "kernel/memory.h"
#include "kernel/poll.h"
#include "kernel/shell/shell.h"
#include "kernel/vm/vm.h"
#include "arch/x86/gdt.h"
#include "arch/x86/idt.h"
#include "arch/x86/paging.h"
#include "arch/x86/power.h"
#include "arch/x86/trap.h"
#include "drivers/e1000.h"
#include "drivers/pci.h"
#include "drivers/uart16550.h"
#include "kernel/lib/errors.h"
#include "net/net.h"

#include <string.h>

static struct ferry_config config;
static const struct boot_info *boot;
static struct line_editor editor;

const struct ferry_config *host_config(void)
{
	return &config;
}

const struct boot_file *host_files(unsigned *count)
{
	*count = boot->file_count;
	return boot->files;
}

const struct boot_file *host_file(const char *path)
{
	for (unsigned i = 0; i < boot->file_count; i++)
		if (strcmp(boot->files[i].name, path) == 0)
			return &boot->files[i];
	return NULL;
}

static void report_config(void *ctx, enum config_severity severity, unsigned line, const char *msg)
{
	(void)ctx;
	if (severity == CONFIG_ERROR)
		klog_error("ferry.cfg line %u: %s", line, msg);
	else
		klog_warn("ferry.cfg line %u: %s", line, msg);
}

static void load_config(void)
{
	config_defaults(&config);
	if (boot->config_text) {
		unsigned errors = config_parse(&config, boot->config_text, boot->config_len,
					       report_config, NULL);
		if (errors)
			klog_warn("ferry.cfg: %u error(s); defaults kept for those keys", errors);
	}
	if (!config.migration_key[0])
		klog_warn("ferry.cfg sets no migration_key: this host will neither send nor receive guests");
	klog_info("host %s: migration port %u", config.hostname, config.migration_port);
}

static void echo_to_console(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	uart_write(s, len);
}

bool console_input_pending(void)
{
	return editor.len > 0 || editor.escape;
}

static void console_poll(void)
{
	uint8_t byte;

	/* Bounded, so that a flood of input cannot starve the other pollers. */
	for (int i = 0; i < 64 && uart_try_getc(&byte); i++) {
		switch (line_editor_feed(&editor, byte)) {
		case LINE_READY:
			shell_execute(editor.line);
			console_puts(SHELL_PROMPT);
			break;
		case LINE_TOO_LONG:
			shell_error("line too long (at most %d characters); ignored", LINE_EDITOR_MAX);
			console_puts(SHELL_PROMPT);
			break;
		case LINE_CANCELLED:
			console_puts(SHELL_PROMPT);
			break;
		case LINE_PENDING:
			break;
		}
	}
}

void kernel_main(struct boot_info *info)
{
	boot = info;
	gdt_init(info->ist_stack_base + info->ist_stack_size);
	idt_init();
	trap_init(info->image_base, info->image_size, info->stack_base, info->stack_size,
		  info->ist_stack_base, info->ist_stack_size);
	clock_init(info->tsc_hz);
	power_init(info->runtime_services);
	memory_init(info);
	paging_init(info);
	memory_reclaim_boot_services(info);
	load_config();
	pci_init(info->acpi_rsdp);
	struct nic *nic = NULL;
	int nic_err = e1000_probe(&nic);
	if (nic_err)
		klog_warn("net: no usable NIC (%s); networking is off", err_name(nic_err));
	net_init(nic);
	vm_init();
	migrate_service_init();

	line_editor_init(&editor, echo_to_console, NULL);
	poll_register("console", console_poll, POLL_CONSOLE);
	klog_info("ferry ready");
	console_puts("\nFerry " FERRY_VERSION " - type 'help' for commands\n" SHELL_PROMPT);
	for (;;)
		poll_run_all();
}
