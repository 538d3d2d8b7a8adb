/*
 * Guests: creation and teardown, the round-robin scheduler, dirty logging and
 * snapshot save/load; see vm.h. The slice loop is kernel/vm/run.c; the CPU side
 * is the vCPU backend behind arch/x86/vcpu.h.
 */
#include "kernel/vm/vm.h"
#include "arch/x86/spec_hw.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/guest_console.h"
#include "kernel/vm/guest_mac.h"
#include "kernel/vm/loader_elf.h"
#include "kernel/vm/nic.h"
#include "kernel/vm/snapshot.h"
#include "kernel/host.h"
#include "kernel/lib/bitmap.h"
#include "kernel/lib/format.h"
#include "kernel/lib/units.h"
#include "kernel/log.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "kernel/poll.h"
#include "kernel/vm/vm_internal.h"
#include "net/net.h"

#include <string.h>

#define IMAGE_DIR "guests/"
#define IMAGE_SUFFIX ".elf"
#define IMAGE_PATH_MAX 40
#define MAC_LOCAL_UNICAST 0x02   /* locally administered, unicast (IEEE 802) */
#define HW_DESCRIPTION_MAX 256

static struct vm vms[VM_MAX];
static bool supported;
static unsigned next_slot;        /* the scheduler's round-robin position */
static unsigned next_id = 1;

struct vm *vm_slot(unsigned i)
{
	return i < VM_MAX && vms[i].used ? &vms[i] : NULL;
}

static void schedule(void);

void vm_init(void)
{
	const char *why = "unknown";
	int err = vcpu_hw_init(&why);

	if (err) {
		klog_warn("%s: guests cannot run on this host: %s", vcpu_hw_name(), why);
		return;
	}
	char controls[HW_DESCRIPTION_MAX];
	vcpu_hw_describe(controls, sizeof(controls));
	supported = true;
	poll_register("vm", schedule, POLL_BACKGROUND);
	klog_info("%s: on; %s", vcpu_hw_name(), controls);
	char mitigations[HW_DESCRIPTION_MAX];
	spec_hw_describe(mitigations, sizeof(mitigations));
	klog_info("%s: speculation: %s", vcpu_hw_name(), mitigations);
}

bool vm_supported(void)
{
	return supported;
}

enum vm_state vm_get_state(const struct vm *vm) { return vm->state; }
const char *vm_name(const struct vm *vm) { return vm->name; }
const uint8_t *vm_mac(const struct vm *vm) { return vm->mac; }
uint64_t vm_ram_bytes(const struct vm *vm) { return vm->ram_bytes; }
uint8_t *vm_ram(struct vm *vm) { return phys_to_ptr(vm->ram_phys); }
const struct cpu_features *vm_cpu_features(const struct vm *vm) { return &vm->cpu; }
bool vm_is_migrating(const struct vm *vm) { return vm->migrating; }

void vm_get_info(const struct vm *vm, struct vm_info *out)
{
	*out = (struct vm_info){
		.id = vm->id,
		.ram_phys = vm->ram_phys,
		.table_frames = vcpu_table_frames(vm->vcpu),
		.held_frames = vm->owner.frames,
		.stop_reason = vm->stop_reason,
		.exits = vcpu_exit_counts(vm->vcpu, NULL, NULL),
		.uart_bytes = vm->uart.bytes_out,
		.console_dropped_lines = vm->console.dropped_lines,
		.console_dropped_bytes = vm->console.dropped_bytes,
		.io_other_reads = vm->io_other_reads,
		.io_other_writes = vm->io_other_writes,
		.io_string = vm->io_string,
		.hypercalls = vm->hypercalls,
		.hypercalls_refused = vm->hypercalls_refused,
		.slices = vm->slices,
		.slices_throttled = vm->throttle.held,
		.throttle_percent = vm->throttle.percent,
		.cpu_share_percent = throttle_share(&vm->throttle, clock_ns()),
		.dirty_logging = vm->dirty_logging,
	};
}

void vm_get_cpu_state(const struct vm *vm, struct x86_cpu_state *out)
{
	vcpu_get_state(vm->vcpu, out);
}

void vm_for_each_exit_count(const struct vm *vm,
			    void (*fn)(const char *reason, uint64_t count, void *ctx), void *ctx)
{
	vcpu_exit_counts(vm->vcpu, fn, ctx);
}

void vm_set_migrating(struct vm *vm, bool migrating)
{
	vm->migrating = migrating;
}

void vm_clock_advance(struct vm *vm, uint64_t ns)
{
	if (vm->platform.on)
		return;
	uint64_t ticks = ns / NS_PER_S * vm->tsc_hz + ns % NS_PER_S * vm->tsc_hz / NS_PER_S;
	vcpu_set_guest_tsc(vm->vcpu, vcpu_guest_tsc(vm->vcpu) + ticks);
}

struct vm *vm_find(const char *name)
{
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].used && strcmp(vms[i].name, name) == 0)
			return &vms[i];
	return NULL;
}

uint64_t vm_console_position(const struct vm *vm)
{
	return vdev_uart_line_start(&vm->uart);
}

size_t vm_console_read(const struct vm *vm, uint64_t *pos, char *out, size_t max)
{
	const struct vdev_uart *u = &vm->uart;
	uint64_t oldest = u->ring_total > VDEV_UART_RING_BYTES ? u->ring_total - VDEV_UART_RING_BYTES : 0;
	size_t n = 0;

	if (*pos < oldest || *pos > u->ring_total)
		*pos = oldest;
	for (; *pos < u->ring_total && n < max; (*pos)++)
		out[n++] = u->ring[*pos % VDEV_UART_RING_BYTES];
	return n;
}

bool vm_console_write(struct vm *vm, uint8_t byte)
{
	return vdev_uart_receive(&vm->uart, byte);
}

void vm_console_set_attached(struct vm *vm, bool attached)
{
	vm->console_attached = attached;
}

static bool name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > VM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* A stable locally administered MAC from the name (FNV-1a), when none is given. */
static void mac_from_name(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	mac[0] = MAC_LOCAL_UNICAST;
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

static void free_run(struct vm *vm, uint64_t *phys, uint64_t frames)
{
	if (*phys)
		mem_free(&vm->owner, *phys, frames);
	*phys = 0;
}

/* Returns every frame and the slot; safe on a half-built guest. */
void vm_teardown(struct vm *vm)
{
	uint64_t ram_frames = vm->ram_bytes / FRAME_SIZE;

	vm_nic_destroy(vm);   /* its port first: the switch must not deliver into freed frames */
	vcpu_destroy(vm->vcpu);
	free_run(vm, &vm->ram_phys, ram_frames);
	free_run(vm, &vm->dirty_cmd_phys, vm->dirty_bitmap_frames);
	if (mem_owner_unregister(&vm->owner))
		klog_error("guest %s: frames still charged after teardown", vm->name);
	guest_console_fini(vm);
	memset(vm, 0, sizeof(*vm));
}

/* A guest with RAM, a vCPU (with its EPT) and a UART but no state: what create and create_incoming share. */
int vm_build_shell(const char *name, uint64_t memory_mib, const uint8_t *mac, struct vm **out,
		   const char **why)
{
	if (!supported) {
		*why = "this host cannot run guests (no usable VT-x or AMD-V; see dmesg)";
		return FERR_NOTSUP;
	}
	if (!name_valid(name)) {
		*why = "guest names are 1-31 letters, digits, '-' or '_'";
		return FERR_INVAL;
	}
	if (vm_find(name)) {
		*why = "a guest with that name exists";
		return FERR_EXIST;
	}
	if (memory_mib < VM_MIN_MEMORY_MIB || memory_mib > VM_MAX_MEMORY_MIB) {
		*why = "memory must be 16 to 1024 MiB";
		return FERR_RANGE;
	}
	struct vm *vm = NULL;
	for (unsigned i = 0; i < VM_MAX && !vm; i++)
		if (!vms[i].used)
			vm = &vms[i];
	if (!vm) {
		*why = "too many guests (at most 8)";
		return FERR_NOMEM;
	}
	unsigned slot = (unsigned)(vm - vms);
	memset(vm, 0, sizeof(*vm));
	vm->used = true;
	vm->id = next_id++;
	strncpy(vm->name, name, VM_NAME_MAX);
	fmt_snprintf(vm->owner_name, sizeof(vm->owner_name), "guest:%s", name);
	vm->owner.name = vm->owner_name;
	if (mem_owner_register(&vm->owner)) {
		memset(vm, 0, sizeof(*vm));
		*why = "too many memory owners";
		return FERR_NOMEM;
	}
	if (mac)
		memcpy(vm->mac, mac, 6);
	else
		mac_from_name(name, vm->mac);
	vm->state = VM_INCOMING;
	throttle_init(&vm->throttle, clock_ns());
	vm->ram_bytes = memory_mib * MIB;
	vm->tsc_hz = clock_tsc_hz();
	cpu_features_host(&vm->cpu);
	guest_console_init(vm);

	uint64_t ram_frames = vm->ram_bytes / FRAME_SIZE;
	vm->dirty_bitmap_frames =
		(bitmap_words(ram_frames) * sizeof(uint64_t) + FRAME_SIZE - 1) / FRAME_SIZE;
	if (mem_alloc(&vm->owner, ram_frames, 1, &vm->ram_phys)) {
		vm_teardown(vm);
		*why = "not enough free memory for the guest";
		return FERR_NOMEM;
	}
	struct vcpu_config cfg = {
		.owner = &vm->owner, .ram_phys = vm->ram_phys, .ram_bytes = vm->ram_bytes,
		.cpuid = &vm->cpu, .name = vm->name, .slot = slot,
	};
	int err = vcpu_create(&cfg, &vm->vcpu, why);
	if (err) {
		vm_teardown(vm);
		return err;
	}
	*out = vm;
	return FERR_OK;
}

static const struct boot_file *find_image(const char *image)
{
	char path[IMAGE_PATH_MAX];

	if (strchr(image, '/'))
		return host_file(image);
	size_t n = strlen(image);
	if (n + sizeof(IMAGE_DIR) + sizeof(IMAGE_SUFFIX) > sizeof(path))
		return NULL;
	bool has_suffix = n > 4 && strcmp(image + n - 4, IMAGE_SUFFIX) == 0;
	fmt_snprintf(path, sizeof(path), IMAGE_DIR "%s%s", image, has_suffix ? "" : IMAGE_SUFFIX);
	return host_file(path);
}

_Static_assert(GUEST_MAC_WHY_MAX <= VM_WHY_MAX, "a MAC refusal fits a VM-layer why");

int vm_mac_check(const uint8_t mac[6], const char **why)
{
	static char text[GUEST_MAC_WHY_MAX];
	uint8_t in_use[VM_MAX][GUEST_MAC_BYTES], host_mac[GUEST_MAC_BYTES];
	size_t n = 0;

	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].used)
			memcpy(in_use[n++], vms[i].mac, GUEST_MAC_BYTES);
	net_mac(host_mac);
	int err = guest_mac_check(mac, host_mac, (const uint8_t (*)[GUEST_MAC_BYTES])in_use, n, text);
	/* What only the virtual switch knows (a MAC it reserves: the gateway's); the rest agrees. */
	const struct vswitch *sw = net_vswitch();
	const char *refusal = err || !sw ? NULL : vswitch_mac_refusal(sw, mac);
	if (refusal) {
		fmt_snprintf(text, sizeof(text), "mac %02x:%02x:%02x:%02x:%02x:%02x is %s", mac[0], mac[1],
			     mac[2], mac[3], mac[4], mac[5], refusal);
		err = FERR_INVAL;
	}
	if (err)
		*why = text;
	return err;
}

int vm_create(const char *name, const char *image, uint64_t memory_mib, const uint8_t *mac,
	      const char *args, struct vm **out, const char **why)
{
	bool linux_guest = strcmp(image, VM_IMAGE_LINUX) == 0;
	const struct boot_file *file = supported && !linux_guest ? find_image(image) : NULL;
	uint8_t chosen_mac[GUEST_MAC_BYTES];

	if (supported && !linux_guest && !file) {
		*why = "unknown image (not on the ESP under guests/)";
		return FERR_NOENT;
	}
	if (mac)
		memcpy(chosen_mac, mac, GUEST_MAC_BYTES);
	else
		mac_from_name(name, chosen_mac);
	/* After the name's own checks (build_shell's): a taken name says so, not its MAC.
	 * A Linux guest's too: its mac= is its network card's on the virtual switch. */
	if (supported && name_valid(name) && !vm_find(name) && vm_mac_check(chosen_mac, why))
		return FERR_INVAL;
	if (linux_guest)
		return vm_create_linux(name, memory_mib ? memory_mib : VM_LINUX_DEFAULT_MIB, mac, args, out, why);
	if (!memory_mib)
		memory_mib = VM_DEFAULT_MEMORY_MIB;
	struct vm *vm;
	int err = vm_build_shell(name, memory_mib, chosen_mac, &vm, why);
	if (err)
		return err;
	struct guest_entry_state entry;
	err = guest_load_elf(file->data, file->size, vm_ram(vm), vm->ram_bytes, args, vm->tsc_hz,
			     &entry, why);
	if (err) {
		vm_teardown(vm);
		return err;
	}
	struct x86_cpu_state regs;
	x86_entry_cpu_state(&entry.cpu, &regs);
	vcpu_set_state(vm->vcpu, &regs);
	vcpu_set_guest_tsc(vm->vcpu, 0);
	vm->state = VM_RUNNING;
	klog_info("guest %s: created from %s, %llu MiB, id %u", vm->name, file->name,
		  (unsigned long long)memory_mib, vm->id);
	*out = vm;
	return FERR_OK;
}

int vm_create_incoming(const char *name, uint64_t memory_mib, const uint8_t *mac,
		       struct vm **out, const char **why)
{
	int err = vm_build_shell(name, memory_mib, mac, out, why);
	if (!err)
		klog_info("guest %s: incoming shell, %llu MiB", name, (unsigned long long)memory_mib);
	return err;
}

int vm_destroy(struct vm *vm)
{
	if (vm->migrating)
		return FERR_BUSY;
	klog_info("guest %s: destroyed", vm->name);
	vm_teardown(vm);
	return FERR_OK;
}

/*
 * A Linux guest's clock stands still while it is paused: it resumes at the TSC it was
 * paused at, as a migrated guest resumes on its destination at the TSC it was saved at.
 * Else a pause as long as a failed stop-and-copy (the engine's stall timeout, 30 s) is a
 * jump its soft-lockup watchdog reports as a CPU stuck that long.
 */
int vm_pause(struct vm *vm)
{
	if (vm->state != VM_RUNNING)
		return FERR_BUSY;
	vm->state = VM_PAUSED;
	if (vm->platform.on)
		vm->paused_guest_tsc = vcpu_guest_tsc(vm->vcpu);
	vm_nic_pause(vm);   /* before a migration's last dirty collection: nothing in flight */
	return FERR_OK;
}

int vm_unpause(struct vm *vm)
{
	const char *why = "";

	if (vm->state != VM_PAUSED)
		return FERR_BUSY;
	int err = vm_nic_resume(vm, &why);   /* an arriving guest's port attaches here (GO) */
	if (err) {
		klog_warn("guest %s: its network card cannot attach: %s", vm->name, why);
		return err;
	}
	if (vm->platform.on)
		vcpu_set_guest_tsc(vm->vcpu, vm->paused_guest_tsc);
	vm->state = VM_RUNNING;
	return FERR_OK;
}

/* The operator's cap and auto-converge's throttle: the larger holds. */
static int apply_throttle(struct vm *vm)
{
	unsigned percent = vm->throttle_cap > vm->throttle_converge ? vm->throttle_cap
								      : vm->throttle_converge;
	return throttle_set(&vm->throttle, percent);
}

int vm_set_throttle(struct vm *vm, unsigned percent)
{
	if (percent > THROTTLE_MAX_PERCENT)
		return FERR_RANGE;
	vm->throttle_converge = percent;
	return apply_throttle(vm);
}

int vm_set_throttle_cap(struct vm *vm, unsigned percent)
{
	if (percent > THROTTLE_MAX_PERCENT)
		return FERR_RANGE;
	vm->throttle_cap = percent;
	return apply_throttle(vm);
}

/*
 * Short slices while the pollers have I/O going on (kernel/poll.h) or the console has
 * output queued for the UART, else the full 10 ms.
 */
static uint64_t slice_ns(void)
{
	if (poll_io_busy())
		return VM_SLICE_BUSY_NS;
	return console_backlog() ? VM_SLICE_CONSOLE_NS : VM_SLICE_NS;
}

/*
 * One slice of the next running guest per call, so the console and the network keep
 * running. A guest resting under its throttle (kernel/vm/throttle.h) is passed over:
 * its time goes to the others. None runs while a migration's pause holds the guests.
 */
static void schedule(void)
{
	uint64_t now = clock_ns();
	for (unsigned i = 0; i < VM_MAX; i++)
		if (vms[i].used && vms[i].state == VM_RUNNING)
			vm_nic_poll(&vms[i]);   /* a transmit the NIC's full ring stalled */
	if (poll_guests_held())
		return;   /* a migrating guest's downtime has the CPU (kernel/poll.h) */
	for (unsigned n = 0; n < VM_MAX; n++) {
		struct vm *vm = &vms[next_slot];
		next_slot = (next_slot + 1) % VM_MAX;
		if (!vm->used || vm->state != VM_RUNNING || !vm_platform_runnable(vm))
			continue;   /* a halted Linux guest waits for an interrupt without a turn */
		if (!throttle_may_run(&vm->throttle, now))
			continue;
		vm->slices++;
		vm_run_slice(vm, throttle_slice_ns(&vm->throttle, slice_ns()));
		throttle_ran(&vm->throttle, now, clock_ns());
		return;
	}
}

/* ---- dirty logging ------------------------------------------------------------------- */

const char *vm_dirty_mode(const struct vm *vm)
{
	return vcpu_dirty_mode(vm->vcpu);
}

int vm_dirty_log_start(struct vm *vm)
{
	int err = vcpu_dirty_start(vm->vcpu);
	if (!err) {
		vm_nic_dirty_clear(vm);
		vm->dirty_logging = true;
	}
	return err;
}

long vm_dirty_collect(struct vm *vm, uint64_t *bitmap)
{
	if (!vm->dirty_logging)
		return FERR_BUSY;
	long newly = vcpu_dirty_collect(vm->vcpu, bitmap);
	if (newly >= 0)   /* Ferry's own writes for the network card: no D bit or PML saw them */
		newly += (long)vm_nic_dirty_take(vm, bitmap);
	if (newly >= 0 && vm->dirty_all) {
		/* Ferry itself rewrote guest RAM (a Linux guest's reset), which no D bit saw. */
		uint64_t pages = vm->ram_bytes / FRAME_SIZE;
		newly = 0;
		for (uint64_t i = 0; i < pages; i++)
			if (!bitmap_test(bitmap, i)) {
				bitmap_set(bitmap, i);
				newly++;
			}
		vm->dirty_all = false;
	}
	return newly;
}

void vm_dirty_log_stop(struct vm *vm)
{
	vcpu_dirty_stop(vm->vcpu);
	vm->dirty_logging = false;
}

uint64_t *vm_dirty_command_bitmap(struct vm *vm)
{
	if (!vm->dirty_cmd_bitmap) {
		if (mem_alloc(&vm->owner, vm->dirty_bitmap_frames, 1, &vm->dirty_cmd_phys))
			return NULL;
		vm->dirty_cmd_bitmap = phys_to_ptr(vm->dirty_cmd_phys);
	}
	memset(vm->dirty_cmd_bitmap, 0, vm->dirty_bitmap_frames * FRAME_SIZE);
	return vm->dirty_cmd_bitmap;
}

/* ---- snapshots ----------------------------------------------------------------------- */

/* The guest's state as a snapshot (s is large: the callers keep it off the stack). */
/*
 * The snapshot of a paused guest. FERR_BUSY from a NIC not quiesced (a running guest): the
 * sections are all there, with the device's contents zero, which is enough to size them.
 */
static int snapshot_fill(struct vm *vm, struct vm_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	vcpu_get_state(vm->vcpu, &s->cpu);
	s->guest_tsc = vm->platform.on ? vm->paused_guest_tsc : vcpu_guest_tsc(vm->vcpu);   /* paused (vm_pause) */
	s->tsc_hz = vm->tsc_hz;
	s->clock_ns_base = vm->clock_ns_base;
	s->clock_tsc_base = vm->clock_tsc_base;
	s->vendor = vcpu_hw_vendor();
	s->cpuid = vm->cpu;
	s->uart = vm->uart.regs;
	memcpy(s->uart_line, vm->uart.line, vm->uart.line_len);
	s->uart_line_len = vm->uart.line_len;
	if (vm->platform.on) {
		const struct vm_platform *p = &vm->platform;
		s->has_platform = true;
		s->lapic = p->lapic.s;
		s->ioapic = p->ioapic.s;
		s->platform.halted = p->halted;
		s->platform.rtc_index = p->rtc_index;
		s->platform.tsc_per_tick = p->cpuid.tsc_per_tick;
		s->platform.crystal_hz = p->cpuid.crystal_hz;
		memcpy(s->platform.args, vm->linux_args, sizeof(s->platform.args));
	}
	if (vm->nic) {
		s->has_nic = true;
		return vm_nic_save(vm, &s->nic);   /* FERR_BUSY unless quiesced by vm_pause */
	}
	return FERR_OK;
}

long vm_snapshot_size(struct vm *vm)
{
	static struct vm_snapshot s;
	static uint8_t scratch[VM_SNAPSHOT_MAX_BYTES];

	int err = snapshot_fill(vm, &s);
	if (err && err != FERR_BUSY)
		return err;
	return vm_snapshot_encode(&s, scratch, sizeof(scratch));
}

long vm_snapshot_save(struct vm *vm, uint8_t *buf, size_t cap)
{
	static struct vm_snapshot s;   /* large (FXSAVE image): kept off the stack */

	if (vm->state != VM_PAUSED)
		return FERR_BUSY;
	int err = snapshot_fill(vm, &s);
	if (err)
		return err;
	return vm_snapshot_encode(&s, buf, cap);
}

_Static_assert(VM_SNAPSHOT_ARGS_BYTES == VM_LINUX_ARGS_MAX, "a Linux guest's args travel whole");

/* A Linux guest's platform on the incoming shell: wired as at creation (which cannot fail
 * for a validated state), with its halted state, CMOS index and args; the models' state
 * follows in vm_snapshot_load. */
static void restore_platform(struct vm *vm, const struct vm_snapshot *s)
{
	struct cpuid_platform cpuid = {
		.lapic = true, .tsc_per_tick = s->platform.tsc_per_tick, .crystal_hz = s->platform.crystal_hz,
	};
	const char *why;

	if (vm_platform_init(vm, &cpuid, &why) || vm_nic_add_window(vm))
		panic("vm: a validated platform state does not load: %s", why);
	vm->platform.halted = s->platform.halted;
	vm->platform.rtc_index = s->platform.rtc_index;
	memcpy(vm->linux_args, s->platform.args, sizeof(vm->linux_args));
}

int vm_snapshot_load(struct vm *vm, const uint8_t *buf, size_t len, const char **why)
{
	static struct vm_snapshot s;
	struct x86_state_limits limits;

	if (vm->state != VM_INCOMING) {
		*why = "the guest is not an incoming shell";
		return FERR_BUSY;
	}
	int err = vm_snapshot_decode(buf, len, &s, why);
	if (err)
		return err;
	vcpu_state_limits(&limits);
	err = vm_snapshot_validate(&s, &limits, why);
	if (err)
		return err;
	if (s.has_nic) {
		/* Its port attaches when the guest first runs here (vm_unpause: at GO). */
		err = vm_nic_create(vm, false, why);
		if (!err)
			err = vm_nic_load(vm, &s.nic, why);
		if (err) {
			vm_nic_destroy(vm);
			return err;
		}
	}
	/* Everything checked: from here on nothing can fail. */
	vcpu_set_state(vm->vcpu, &s.cpu);
	vcpu_set_guest_tsc(vm->vcpu, s.guest_tsc);
	vm->tsc_hz = s.tsc_hz;
	vm->clock_ns_base = s.clock_ns_base;
	vm->clock_tsc_base = s.clock_tsc_base;
	vm->cpu = s.cpuid;
	if (s.has_platform)
		restore_platform(vm, &s);
	vm->uart.regs = s.uart;
	vdev_uart_restore_line(&vm->uart, s.uart_line, s.uart_line_len);
	if (s.has_platform) {
		/* The models as saved: after the guest's TSC, so the APIC timer's deadline is its time. */
		vm->platform.lapic.s = s.lapic;
		vm->platform.ioapic.s = s.ioapic;
	}
	vm->paused_guest_tsc = s.guest_tsc;   /* it resumes at the TSC it was saved at (vm_pause) */
	vm->state = VM_PAUSED;
	return FERR_OK;
}
