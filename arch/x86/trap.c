/* Exception reports and the register dump; see trap.h. */
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"
#include "kernel/console.h"

#include <stdbool.h>

#define BACKTRACE_MAX_FRAMES 24
#define GUARD_BYTES 4096

static const char *const exception_names[VECTOR_EXCEPTIONS] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	"reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
	"#HV hypervisor injection", "#VC VMM communication", "#SX security", "reserved",
};

static struct {
	uint64_t image_base, image_size;
	uint64_t stack_base, stack_size;
	uint64_t ist_base, ist_size;
} layout;

void trap_init(uint64_t image_base, uint64_t image_size, uint64_t stack_base, uint64_t stack_size,
	       uint64_t ist_base, uint64_t ist_size)
{
	layout.image_base = image_base;
	layout.image_size = image_size;
	layout.stack_base = stack_base;
	layout.stack_size = stack_size;
	layout.ist_base = ist_base;
	layout.ist_size = ist_size;
}

static bool in_range(uint64_t addr, uint64_t base, uint64_t size, uint64_t bytes)
{
	return addr >= base && addr + bytes <= base + size && addr + bytes > addr;
}

static bool on_a_stack(uint64_t addr)
{
	return in_range(addr, layout.stack_base, layout.stack_size, 16) ||
	       in_range(addr, layout.ist_base, layout.ist_size, 16);
}

static void print_address(uint64_t addr)
{
	if (in_range(addr, layout.image_base, layout.image_size, 1))
		kprintf("0x%016llx (ferry.efi+0x%llx)", (unsigned long long)addr,
			(unsigned long long)(addr - layout.image_base));
	else
		kprintf("0x%016llx", (unsigned long long)addr);
}

static void backtrace(uint64_t rip, uint64_t rbp)
{
	kprintf("backtrace (addr2line -e build/ferry.so resolves ferry.efi offsets):\n  #0  ");
	print_address(rip);
	kprintf("\n");
	for (int i = 1; i < BACKTRACE_MAX_FRAMES && on_a_stack(rbp); i++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		uint64_t ret = frame[1];
		if (!ret)
			break;
		kprintf("  #%-2d ", i);
		print_address(ret);
		kprintf("\n");
		if (frame[0] <= rbp)   /* frames grow towards higher addresses; anything else is garbage */
			break;
		rbp = frame[0];
	}
}

void trap_dump(const struct trap_frame *f)
{
	kprintf("rip=");
	print_address(f->rip);
	kprintf(" rflags=0x%llx cs=0x%llx ss=0x%llx\n", (unsigned long long)f->rflags,
		(unsigned long long)f->cs, (unsigned long long)f->ss);
	kprintf("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx);
	kprintf("rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx\n",
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->rsp);
	kprintf("r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n",
		(unsigned long long)f->r8, (unsigned long long)f->r9,
		(unsigned long long)f->r10, (unsigned long long)f->r11);
	kprintf("r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n",
		(unsigned long long)f->r12, (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	backtrace(f->rip, f->rbp);
}

static volatile uint64_t host_nmis;

uint64_t trap_host_nmis(void)
{
	return host_nmis;
}

void trap_handler(struct trap_frame *f)
{
	unsigned v = (unsigned)f->vector;

	/*
	 * A host NMI (a BMC's NMI button, a watchdog, a platform error): counted for
	 * `info` and survived. NMI context: nothing else here, not even the console.
	 * The IRET back ends NMI blocking, also for the NMIs the VT-x backend hands
	 * over with INT 2 after an NMI exit.
	 */
	if (v == VECTOR_NMI) {
		host_nmis++;
		return;
	}
	console_panic();
	kprintf("\nFERRY FATAL: exception %u (%s), error code 0x%llx\n", v,
		v < 32 ? exception_names[v] : "?", (unsigned long long)f->error_code);
	uint64_t cr2 = read_cr2();
	if (v == VECTOR_PF)
		kprintf("page fault at 0x%llx (%s, %s)\n", (unsigned long long)cr2,
			f->error_code & PF_ERROR_PROTECTION ? "protection" : "not present",
			f->error_code & PF_ERROR_WRITE ? "write" :
			f->error_code & PF_ERROR_FETCH ? "fetch" : "read");
	/* An overflow faults on the guard page, and pushing that fault's frame on the same
	 * stack then raises #DF, which runs on its own stack; CR2 still names the guard page. */
	if ((v == VECTOR_PF || v == VECTOR_DF) &&
	    in_range(cr2, layout.stack_base - GUARD_BYTES, GUARD_BYTES, 1))
		kprintf("stack overflow: the boot stack ran into its guard page\n");
	trap_dump(f);
	kprintf("Ferry stopped.\n");
	cpu_halt_forever();
}

/* ---- panic()'s x86 half ----------------------------------------------------------------- */

static void panic_quiesce(void)
{
	cpu_disable_interrupts();
}

/*
 * Dumps the registers with rip and rbp stepped out of this function's own frame, so
 * that the report starts inside panic() and the backtrace goes on with its caller,
 * as an exception's report starts at the faulting instruction.
 */
__attribute__((noinline)) static void panic_dump(void)
{
	struct trap_frame frame;
	const uint64_t *own = (const uint64_t *)(uintptr_t)read_rbp();

	arch_save_registers(&frame);
	frame.rbp = own[0];                              /* panic()'s frame */
	frame.rip = own[1];                              /* where panic() resumes */
	frame.rsp = (uint64_t)(uintptr_t)(own + 2);      /* panic()'s rsp after the return */
	trap_dump(&frame);
}

__attribute__((noreturn)) static void panic_halt(void)
{
	cpu_halt_forever();
}

const struct panic_arch trap_panic_arch = {
	.quiesce = panic_quiesce,
	.dump = panic_dump,
	.halt = panic_halt,
};
