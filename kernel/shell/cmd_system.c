/* System commands: help, version, info, dmesg, shutdown, reboot. */
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/host.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/shell/shell.h"
#include "arch/x86/cpu.h"
#include "arch/x86/entropy.h"
#include "arch/x86/mce.h"
#include "arch/x86/power.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/trap.h"
#include "arch/x86/vcpu.h"

#include <string.h>

#define HELP_NAME_WIDTH 16
#define KIB_PER_FRAME (FRAME_SIZE / 1024)

/* The `memory:` line that both `info` and `mem` print. */
static void print_memory_totals(void)
{
	struct mem_stats m;

	mem_get_stats(&m);
	kprintf("memory: total_kib=%llu free_kib=%llu ferry_kib=%llu\n",
		(unsigned long long)(m.total_frames * KIB_PER_FRAME),
		(unsigned long long)(m.free_frames * KIB_PER_FRAME),
		(unsigned long long)(m.ferry_frames * KIB_PER_FRAME));
}

static void print_summary(const struct shell_command *cmd, void *ctx)
{
	(void)ctx;
	kprintf("  %-*s %s\n", HELP_NAME_WIDTH, cmd->name, cmd->summary);
}

static enum shell_status cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return SHELL_USAGE;
	if (argc == 2) {
		const struct shell_command *cmd = shell_find(argv[1]);
		if (!cmd) {
			shell_error("unknown command '%.32s' (try help)", argv[1]);
			return SHELL_FAILED;
		}
		kprintf("usage: %s%s%s\n  %s\n", cmd->name, cmd->usage[0] ? " " : "", cmd->usage,
			cmd->summary);
		return SHELL_OK;
	}
	kprintf("commands (help COMMAND shows its usage):\n");
	shell_for_each(print_summary, NULL);
	return SHELL_OK;
}

static enum shell_status cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	kprintf("ferry version=%s git=%s\n", FERRY_VERSION, FERRY_GIT_REV);
	return SHELL_OK;
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

#define CPUID_VENDOR_LEAF      0
#define CPUID_SIGNATURE_LEAF   1
#define CPUID_BRAND_FIRST_LEAF 0x80000002u
#define CPUID_BRAND_LEAVES     3
#define CPUID_EXT_MAX_LEAF     0x80000000u

static void print_cpu(void)
{
	struct cpuid_regs v = cpuid(CPUID_VENDOR_LEAF, 0);
	char vendor[13];
	memcpy(vendor, &v.ebx, 4);
	memcpy(vendor + 4, &v.edx, 4);
	memcpy(vendor + 8, &v.ecx, 4);
	vendor[12] = '\0';

	/* Display family and model (SDM Vol. 2A, CPUID leaf 1, EAX). */
	uint32_t sig = cpuid(CPUID_SIGNATURE_LEAF, 0).eax;
	uint32_t family = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf, stepping = sig & 0xf;
	if (family == 0xf)
		family += (sig >> 20) & 0xff;
	if (family == 0x6 || family >= 0xf)
		model |= ((sig >> 16) & 0xf) << 4;
	kprintf("cpu: vendor=%s family=%u model=%u stepping=%u\n", vendor, family, model, stepping);

	if (cpuid(CPUID_EXT_MAX_LEAF, 0).eax >= CPUID_BRAND_FIRST_LEAF + CPUID_BRAND_LEAVES - 1) {
		char brand[49];
		for (unsigned i = 0; i < CPUID_BRAND_LEAVES; i++) {
			struct cpuid_regs r = cpuid(CPUID_BRAND_FIRST_LEAF + i, 0);
			memcpy(brand + 16 * i, &r, 16);
		}
		brand[48] = '\0';
		const char *b = brand;
		while (*b == ' ')
			b++;
		kprintf("brand: %s\n", b);
	}
}

/* The source of random bytes in use (arch/x86/entropy.h), and why an earlier one was dropped. */
static void print_entropy(void)
{
	struct entropy_status e;

	entropy_get_status(&e);
	kprintf("entropy: source=%s cpu_rdseed=%s cpu_rdrand=%s fallbacks=%u",
		entropy_source_name(e.source), yes_no(e.cpu_rdseed), yes_no(e.cpu_rdrand), e.fallbacks);
	if (e.last_failure)
		kprintf(" last_failure=\"%s\"", e.last_failure);
	kprintf("\n");
}

static enum shell_status cmd_info(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	print_cpu();

	const struct vcpu_capability *caps;
	unsigned count = vcpu_hw_capabilities(&caps);
	kprintf("features: vendor=%s", vcpu_vendor_name(vcpu_hw_vendor()));
	for (unsigned i = 0; i < count; i++)
		kprintf(" %s=%s", caps[i].key, yes_no(caps[i].present));
	kprintf("\n");

	char mitigations[256];
	spec_hw_describe(mitigations, sizeof(mitigations));
	kprintf("speculation: %s\n", mitigations);
	kprintf("events: host_nmis=%llu machine_checks_in_guests=%llu\n",
		(unsigned long long)trap_host_nmis(), (unsigned long long)mce_guest_count());

	print_memory_totals();
	kprintf("host: name=%s uptime_ms=%llu tsc_khz=%llu\n", host_config()->hostname,
		(unsigned long long)clock_ms(), (unsigned long long)(clock_tsc_hz() / 1000));
	print_entropy();
	return SHELL_OK;
}

static void print_owner(const struct frame_owner *owner, void *ctx)
{
	(void)ctx;
	kprintf("%-16s %12llu %12llu\n", owner->name,
		(unsigned long long)(owner->frames * KIB_PER_FRAME),
		(unsigned long long)(owner->peak_frames * KIB_PER_FRAME));
}

static enum shell_status cmd_mem(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	print_memory_totals();
	kprintf("%-16s %12s %12s\n", "OWNER", "KIB", "PEAK_KIB");
	mem_for_each_owner(print_owner, NULL);
	return SHELL_OK;
}

static enum shell_status cmd_dmesg(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	uint64_t pos = 0;
	char chunk[128];
	size_t n;
	while ((n = klog_read(&pos, chunk, sizeof(chunk))) > 0)
		console_write(chunk, n);
	return SHELL_OK;
}

static enum shell_status cmd_shutdown(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	kprintf("powering off\n");
	console_flush();
	int err = power_off();
	shell_error("power-off failed: %s", err_name(err));
	return SHELL_FAILED;
}

static enum shell_status cmd_reboot(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	kprintf("rebooting\n");
	console_flush();
	int err = power_reboot();
	shell_error("reboot failed: %s", err_name(err));
	return SHELL_FAILED;
}

const struct shell_command system_commands[] = {
	{ "help", "[COMMAND]", "list the commands, or show how to use one", cmd_help },
	{ "version", "", "show Ferry's version and git revision", cmd_version },
	{ "info", "", "show the CPU, the VT-x or AMD-V features Ferry uses, memory, entropy", cmd_info },
	{ "mem", "", "show memory use by owner (Ferry, NIC, each guest)", cmd_mem },
	{ "dmesg", "", "show the kernel log since boot", cmd_dmesg },
	{ "shutdown", "", "power the machine off (ACPI S5)", cmd_shutdown },
	{ "reboot", "", "reset the machine", cmd_reboot },
	{ NULL, NULL, NULL, NULL },
};
