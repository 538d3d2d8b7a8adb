/*
 * Guest commands: create, list, destroy, pause, unpause, throttle, console,
 * vminfo, dirty, and snapshot (a save/load round trip on this host, the debug twin of
 * a migration's switchover).
 */
#include "kernel/shell/cmdline.h"
#include "kernel/shell/console_attach.h"
#include "kernel/shell/nic_report.h"
#include "kernel/console.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/guest_text.h"
#include "kernel/lib/parse.h"
#include "kernel/memory.h"
#include "kernel/shell/shell.h"
#include "kernel/vm/vm_internal.h"

#include <string.h>

#define MIB (1ull << 20)
#define DIRTY_RANGES_SHOWN 64

static const char *state_name(const struct vm *vm)
{
	if (vm_is_migrating(vm))
		return "migrating";
	switch (vm_get_state(vm)) {
	case VM_RUNNING:  return "running";
	case VM_PAUSED:   return "paused";
	case VM_STOPPED:  return "stopped";
	case VM_INCOMING: return "incoming";
	}
	return "?";
}

static struct vm *find_or_complain(const char *name)
{
	struct vm *vm = vm_find(name);
	if (!vm)
		shell_error("no guest named '%.32s'", name);
	return vm;
}

static enum shell_status cmd_create(int argc, char **argv)
{
	uint64_t mib = 0;   /* none given: the image's default (vm_create) */
	uint8_t mac[6];
	bool mac_given = false;
	const char *args = NULL;
	const struct cmdline_option options[] = {
		{ "memory", CMDLINE_U64, "MiB", VM_MIN_MEMORY_MIB, VM_MAX_MEMORY_MIB, &mib, NULL },
		{ "mac", CMDLINE_UNICAST_MAC, NULL, 0, 0, mac, &mac_given },
		{ "args", CMDLINE_STRING, NULL, 0, 0, &args, NULL },
	};
	enum shell_status st = shell_parse_options(argc, argv, 3, options,
						   sizeof(options) / sizeof(options[0]));
	if (st != SHELL_OK)
		return st;
	struct vm *vm;
	const char *why = "unknown";
	int err = vm_create(argv[1], argv[2], mib, mac_given ? mac : NULL, args, &vm, &why);
	if (err) {
		shell_error("cannot create '%.32s': %s", argv[1], why);
		return SHELL_FAILED;
	}
	const uint8_t *m = vm_mac(vm);
	kprintf("created %s id=%u memory_mib=%llu mac=%02x:%02x:%02x:%02x:%02x:%02x\n", vm->name,
		vm->id, (unsigned long long)(vm_ram_bytes(vm) / MIB), m[0], m[1], m[2], m[3], m[4], m[5]);
	return SHELL_OK;
}

static enum shell_status cmd_list(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return SHELL_USAGE;
	kprintf("%-16s %4s %-10s %8s %12s\n", "NAME", "ID", "STATE", "MEM_MIB", "EXITS");
	for (unsigned i = 0; i < VM_MAX; i++) {
		struct vm *vm = vm_slot(i);
		struct vm_info info;
		if (!vm)
			continue;
		vm_get_info(vm, &info);
		kprintf("%-16s %4u %-10s %8llu %12llu\n", vm_name(vm), info.id, state_name(vm),
			(unsigned long long)(vm_ram_bytes(vm) / MIB), (unsigned long long)info.exits);
	}
	return SHELL_OK;
}

static enum shell_status cmd_destroy(int argc, char **argv)
{
	if (argc != 2)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	if (vm_destroy(vm)) {
		shell_error("'%.32s' is migrating; it cannot be destroyed now", argv[1]);
		return SHELL_FAILED;
	}
	kprintf("destroyed %s\n", argv[1]);
	return SHELL_OK;
}

static enum shell_status pause_or_unpause(int argc, char **argv, bool pause)
{
	if (argc != 2)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	if (vm->migrating) {
		shell_error("'%.32s' is migrating", argv[1]);
		return SHELL_FAILED;
	}
	if (pause ? vm_pause(vm) : vm_unpause(vm)) {
		shell_error("'%.32s' is %s", argv[1], state_name(vm));
		return SHELL_FAILED;
	}
	kprintf("%s %s\n", pause ? "paused" : "unpaused", vm->name);
	return SHELL_OK;
}

static enum shell_status cmd_pause(int argc, char **argv)
{
	return pause_or_unpause(argc, argv, true);
}

static enum shell_status cmd_unpause(int argc, char **argv)
{
	return pause_or_unpause(argc, argv, false);
}

static enum shell_status cmd_throttle(int argc, char **argv)
{
	uint64_t percent;

	if (argc != 3)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	if (!parse_u64(argv[2], 0, THROTTLE_MAX_PERCENT, &percent)) {
		shell_error("PERCENT must be 0 to %u", THROTTLE_MAX_PERCENT);
		return SHELL_FAILED;
	}
	vm_set_throttle_cap(vm, (unsigned)percent);
	kprintf("throttle %s cap=%u%% in_force=%u%%\n", vm->name, vm->throttle_cap, vm->throttle.percent);
	return SHELL_OK;
}

/* The guest's recent output (its UART's ring), rendered, then an interactive attach. */
static enum shell_status cmd_console(int argc, char **argv)
{
	static char text[VDEV_UART_RING_BYTES];
	struct guest_terminal shown;

	if (argc != 2)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	size_t n = vdev_uart_recent(&vm->uart, text, sizeof(text));
	guest_terminal_init(&shown);
	guest_terminal_show(&shown, text, n);
	guest_terminal_finish(&shown);
	if (n && text[n - 1] != '\n')
		console_puts("\n");
	console_attach(vm);
	return SHELL_OK;
}

static void print_registers(struct vm *vm)
{
	static struct x86_cpu_state s;
	static const char *const names[GPR_COUNT] = {
		"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
		"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	};

	vm_get_cpu_state(vm, &s);
	kprintf("rip=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n",
		(unsigned long long)s.rip, (unsigned long long)s.rflags, (unsigned long long)s.cr0,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4, (unsigned long long)s.efer);
	for (unsigned i = 0; i < GPR_COUNT; i++)
		kprintf("%s=0x%llx%s", names[i], (unsigned long long)s.gpr[i], i % 4 == 3 ? "\n" : " ");
	kprintf("cs=0x%x ss=0x%x tr=0x%x gdtr=0x%llx/0x%x idtr=0x%llx/0x%x\n", s.seg[SEG_CS].selector,
		s.seg[SEG_SS].selector, s.seg[SEG_TR].selector, (unsigned long long)s.gdtr_base,
		s.gdtr_limit, (unsigned long long)s.idtr_base, s.idtr_limit);
}

static void print_exit_count(const char *reason, uint64_t count, void *ctx)
{
	(void)ctx;
	kprintf(" %s=%llu", reason, (unsigned long long)count);
}

static enum shell_status cmd_vminfo(int argc, char **argv)
{
	if (argc != 2)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	struct vm_info info;
	vm_get_info(vm, &info);
	const uint8_t *m = vm_mac(vm);
	kprintf("name=%s id=%u state=%s memory_mib=%llu mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
		vm_name(vm), info.id, state_name(vm), (unsigned long long)(vm_ram_bytes(vm) / MIB), m[0],
		m[1], m[2], m[3], m[4], m[5]);
	kprintf("memory: ram_phys=0x%llx ept_tables=%llu held_kib=%llu\n",
		(unsigned long long)info.ram_phys, (unsigned long long)info.table_frames,
		(unsigned long long)(info.held_frames * (FRAME_SIZE / 1024)));
	if (vm_get_state(vm) == VM_STOPPED)
		kprintf("stopped: %s\n", info.stop_reason);
	print_registers(vm);
	kprintf("exits: total=%llu", (unsigned long long)info.exits);
	vm_for_each_exit_count(vm, print_exit_count, NULL);
	kprintf("\nio: uart_bytes=%llu other_reads=%llu other_writes=%llu string=%llu hypercalls=%llu"
		" hypercalls_refused=%llu\n",
		(unsigned long long)info.uart_bytes, (unsigned long long)info.io_other_reads,
		(unsigned long long)info.io_other_writes, (unsigned long long)info.io_string,
		(unsigned long long)info.hypercalls, (unsigned long long)info.hypercalls_refused);
	kprintf("console: dropped_lines=%llu dropped_bytes=%llu\n",
		(unsigned long long)info.console_dropped_lines,
		(unsigned long long)info.console_dropped_bytes);
	kprintf("sched: slices=%llu throttled=%llu throttle=%u%% cpu=%u%%\n",
		(unsigned long long)info.slices, (unsigned long long)info.slices_throttled,
		info.throttle_percent, info.cpu_share_percent);
	kprintf("dirty: mode=%s logging=%s\n", vm_dirty_mode(vm), info.dirty_logging ? "yes" : "no");
	print_vm_nic(vm);
	char features[200];
	cpu_features_format(vm_cpu_features(vm), features, sizeof(features));
	kprintf("cpuid: %s\n", features);
	return SHELL_OK;
}

/* Prints the set bits of bitmap as ranges "a-b,c,...", at most DIRTY_RANGES_SHOWN of them. */
static void print_ranges(const uint64_t *bitmap, uint64_t pages)
{
	unsigned shown = 0;
	uint64_t start = bitmap_next_set(bitmap, 0, pages);

	while (start < pages) {
		uint64_t end = bitmap_next_clear(bitmap, start, pages);   /* one past the range */
		if (shown == DIRTY_RANGES_SHOWN) {
			kprintf(",...");
			return;
		}
		kprintf("%s%llu", shown ? "," : "", (unsigned long long)start);
		if (end - 1 > start)
			kprintf("-%llu", (unsigned long long)(end - 1));
		shown++;
		start = bitmap_next_set(bitmap, end, pages);
	}
}

static enum shell_status cmd_dirty(int argc, char **argv)
{
	if (argc != 2)
		return SHELL_USAGE;
	struct vm *vm = find_or_complain(argv[1]);
	if (!vm)
		return SHELL_FAILED;
	if (vm_is_migrating(vm)) {
		shell_error("'%.32s' is migrating: its dirty log belongs to the migration", argv[1]);
		return SHELL_FAILED;
	}
	uint64_t pages = vm_ram_bytes(vm) / FRAME_SIZE;
	uint64_t *bitmap = vm_dirty_command_bitmap(vm);
	if (!bitmap) {
		shell_error("no memory for the dirty bitmap");
		return SHELL_FAILED;
	}
	struct vm_info info;
	vm_get_info(vm, &info);
	if (!info.dirty_logging) {
		int err = vm_dirty_log_start(vm);
		if (err) {
			shell_error("dirty logging unavailable: %s", err_name(err));
			return SHELL_FAILED;
		}
		kprintf("dirty %s mode=%s logging=started count=0 pages=\n", vm_name(vm), vm_dirty_mode(vm));
		return SHELL_OK;
	}
	long n = vm_dirty_collect(vm, bitmap);
	if (n < 0) {
		shell_error("dirty scan failed: %s", err_name((int)n));
		return SHELL_FAILED;
	}
	kprintf("dirty %s mode=%s count=%ld pages=", vm_name(vm), vm_dirty_mode(vm), n);
	print_ranges(bitmap, pages);
	kprintf("\n");
	return SHELL_OK;
}

static enum shell_status cmd_snapshot(int argc, char **argv)
{
	static uint8_t state[VM_SNAPSHOT_MAX_BYTES];

	if (argc != 3)
		return SHELL_USAGE;
	struct vm *old = find_or_complain(argv[1]);
	if (!old)
		return SHELL_FAILED;
	enum vm_state run_state = vm_get_state(old);
	if (vm_is_migrating(old) || (run_state != VM_RUNNING && run_state != VM_PAUSED)) {
		shell_error("'%.32s' is %s", argv[1], state_name(old));
		return SHELL_FAILED;
	}
	bool was_running = run_state == VM_RUNNING;
	if (was_running)
		vm_pause(old);
	long len = vm_snapshot_save(old, state, sizeof(state));
	struct vm *copy = NULL;
	const char *why = "state too big";
	int err = len < 0 ? (int)len
			  : vm_create_incoming(argv[2], vm_ram_bytes(old) / MIB, vm_mac(old), &copy, &why);
	if (!err) {
		memcpy(vm_ram(copy), vm_ram(old), vm_ram_bytes(old));
		err = vm_snapshot_load(copy, state, (size_t)len, &why);
		if (err)
			vm_destroy(copy);
	}
	if (err) {
		if (was_running)
			vm_unpause(old);
		shell_error("snapshot failed: %s", why);
		return SHELL_FAILED;
	}
	vm_destroy(old);
	if (was_running)
		vm_unpause(copy);
	kprintf("snapshot %s -> %s state_bytes=%ld\n", argv[1], argv[2], len);
	return SHELL_OK;
}

const struct shell_command vm_commands[] = {
	{ "create", "NAME IMAGE [memory=MIB] [mac=MAC] [args=\"...\"]", "create and start a guest from guests/IMAGE.elf", cmd_create },
	{ "list", "", "list the guests", cmd_list },
	{ "destroy", "NAME", "stop a guest and free its memory", cmd_destroy },
	{ "pause", "NAME", "stop scheduling a guest", cmd_pause },
	{ "unpause", "NAME", "schedule a paused guest again", cmd_unpause },
	{ "throttle", "NAME PERCENT", "keep a guest off the CPU for PERCENT of wall time (0-99)", cmd_throttle },
	{ "console", "NAME", "show a guest's recent console output and attach to it (Ctrl-] detaches)", cmd_console },
	{ "vminfo", "NAME", "show a guest's registers, exits, I/O and memory", cmd_vminfo },
	{ "dirty", "NAME", "show the pages a guest wrote since the last call", cmd_dirty },
	{ "snapshot", "NAME NEW", "save a guest's state and load it into a new guest NEW (debug)", cmd_snapshot },
	{ NULL, NULL, NULL, NULL },
};
