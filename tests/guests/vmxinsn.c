/*
 * vmxinsn: executes the virtualization instructions a guest must not be able to
 * use: VT-x's (VMXON, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMLAUNCH,
 * VMRESUME, VMXOFF, INVEPT, INVVPID), then AMD-V's (VMRUN, VMLOAD, VMSAVE, STGI,
 * CLGI, SKINIT, INVLPGA), then a hypercall with an unknown number through the
 * instruction of this CPU's vendor. Ferry is expected to inject #UD for each
 * virtualization instruction, whichever backend runs the guest. An IDT catches
 * #UD (vector 6) and #GP (vector 13), prints `vmxinsn: #UD on NAME` /
 * `vmxinsn: #GP on NAME` and resumes after the instruction; if none comes,
 * `vmxinsn: no fault on NAME`. Then what a guest may not do to its control and
 * debug registers: set CR4 bits Ferry hides (VMXE, SMXE, PCIDE, OSXSAVE, PKE:
 * #GP each, `cr4.NAME`), read DR4 (#UD, `dr4`), set DR6 bits 63:32 (#GP,
 * `dr6.high`); and what it may: `vmxinsn: cr4 pge toggled` (CR4.PGE set and
 * cleared, read back), `vmxinsn: dr roundtrip ok` (DR0-DR3 and DR7 written from
 * and read into other registers, r9 and r13 among them). Then
 * `vmxinsn: vmcall 999 -> R` (`vmmcall` on AMD; or `vmxinsn: #UD on vmcall`) and
 * finally `vmxinsn: done`.
 */
#include "guest_rt.h"

#include "guest_trap.h"

#define UNKNOWN_HYPERCALL 999

static const char *current_name;
static int faulted;

static void on_trap(struct trap_frame *frame)
{
	faulted = 1;
	guest_printf("vmxinsn: #%s on %s\n", frame->vector == TRAP_VECTOR_UD ? "UD" : "GP",
		     current_name ? current_name : "?");
	if (!trap_resume_rip) {
		guest_printf("vmxinsn: unexpected fault rip=0x%lx\n", (unsigned long)frame->rip);
		guest_halt();
	}
	frame->rip = trap_resume_rip;
	trap_resume_rip = 0;
}

static uint8_t vmx_region[4096] __attribute__((aligned(4096)));

/* Runs one instruction with RAX = &vmx_region; a trap resumes after it. */
#define TRY(name, insn)                                                               \
	do {                                                                          \
		current_name = name;                                                  \
		faulted = 0;                                                          \
		TRAP_TRY(insn, : : "a"(vmx_region) : "rbx", "rcx", "r9", "r11", "r13", "cc", "memory"); \
		if (!faulted)                                                         \
			guest_printf("vmxinsn: no fault on %s\n", name);              \
	} while (0)

#define CR4_PGE          0x80ull
#define DR7_INIT         0x400ull
#define DR_PATTERN(n)    (0x1000ull * ((n) + 1) + 0xd0)   /* a distinct, harmless value per DRn */

/*
 * What a guest may do: toggle CR4.PGE and read it back, and move values through
 * DR0-DR3 and DR7 (no breakpoint enabled). Results land in vmx_region: CR4 as
 * read with PGE toggled at 0, DR0-DR3 at 8-32, DR7 at 40.
 */
static void check_allowed_registers(void)
{
	volatile uint64_t *out = (volatile uint64_t *)vmx_region;
	uint64_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	TRY("cr4.pge", "mov %%cr4, %%rbx\n\txor $0x80, %%rbx\n\tmov %%rbx, %%cr4\n\t"
		       "mov %%cr4, %%rcx\n\tmov %%rcx, 0(%%rax)\n\txor $0x80, %%rbx\n\tmov %%rbx, %%cr4");
	if (!faulted)
		guest_printf("vmxinsn: cr4 pge %s\n", out[0] == (cr4 ^ CR4_PGE) ? "toggled" : "unchanged");
	TRY("dr", "mov $0x10d0, %%rbx\n\tmov %%rbx, %%dr0\n\tmov $0x20d0, %%rcx\n\tmov %%rcx, %%dr1\n\t"
		  "mov $0x30d0, %%r13\n\tmov %%r13, %%dr2\n\tmov $0x40d0, %%r9\n\tmov %%r9, %%dr3\n\t"
		  "mov $0x400, %%rbx\n\tmov %%rbx, %%dr7\n\t"
		  "mov %%dr0, %%r9\n\tmov %%r9, 8(%%rax)\n\tmov %%dr1, %%r13\n\tmov %%r13, 16(%%rax)\n\t"
		  "mov %%dr2, %%rcx\n\tmov %%rcx, 24(%%rax)\n\tmov %%dr3, %%rbx\n\tmov %%rbx, 32(%%rax)\n\t"
		  "mov %%dr7, %%rcx\n\tmov %%rcx, 40(%%rax)");
	if (faulted)
		return;
	int ok = (out[5] & 0xffff) == DR7_INIT;
	for (unsigned n = 0; n < 4; n++)
		ok = ok && out[1 + n] == DR_PATTERN(n);
	guest_printf("vmxinsn: dr roundtrip %s\n", ok ? "ok" : "bad");
}

/* The unknown hypercall through `insn`, its result in r; a trap resumes after it. */
#define TRY_HYPERCALL(insn, r)                                                        \
	TRAP_TRY(insn, : "=a"(r) : "a"((long)UNKNOWN_HYPERCALL), "D"(0L), "S"(0L), "d"(0L) \
		 : "r11", "cc", "memory")

void guest_main(void)
{
	trap_install(on_trap);
	guest_printf("vmxinsn: start\n");

	TRY("vmxon", "vmxon (%%rax)");
	TRY("vmclear", "vmclear (%%rax)");
	TRY("vmptrld", "vmptrld (%%rax)");
	TRY("vmptrst", "vmptrst (%%rax)");
	TRY("vmread", "vmread %%rax, %%rbx");
	TRY("vmwrite", "vmwrite %%rax, %%rbx");
	TRY("vmlaunch", "vmlaunch");
	TRY("vmresume", "vmresume");
	TRY("vmxoff", "vmxoff");
	TRY("invept", "invept (%%rax), %%rbx");
	TRY("invvpid", "invvpid (%%rax), %%rbx");
	TRY("vmrun", "vmrun %%rax");
	TRY("vmload", "vmload %%rax");
	TRY("vmsave", "vmsave %%rax");
	TRY("stgi", "stgi");
	TRY("clgi", "clgi");
	TRY("skinit", "skinit %%eax");
	TRY("invlpga", "invlpga %%rax, %%ecx");

	/* CR4 bits of features Ferry does not give a guest: the write must fault. */
	TRY("cr4.vmxe", "mov %%cr4, %%rbx\n\tor $0x2000, %%rbx\n\tmov %%rbx, %%cr4");
	TRY("cr4.smxe", "mov %%cr4, %%rbx\n\tor $0x4000, %%rbx\n\tmov %%rbx, %%cr4");
	TRY("cr4.pcide", "mov %%cr4, %%rbx\n\tor $0x20000, %%rbx\n\tmov %%rbx, %%cr4");
	TRY("cr4.osxsave", "mov %%cr4, %%rbx\n\tor $0x40000, %%rbx\n\tmov %%rbx, %%cr4");
	TRY("cr4.pke", "mov %%cr4, %%r13\n\tor $0x400000, %%r13\n\tmov %%r13, %%cr4");
	TRY("dr4", "mov %%dr4, %%rbx");
	TRY("dr6.high", "mov $0x100000000, %%rbx\n\tmov %%rbx, %%dr6");
	check_allowed_registers();

	/* An unknown hypercall should return an error; a #UD for it is handled too. */
	long r = 0;
	current_name = hypercall_instruction();
	faulted = 0;
	if (hypercall_is_vmmcall)
		TRY_HYPERCALL("vmmcall", r);
	else
		TRY_HYPERCALL("vmcall", r);
	if (!faulted)
		guest_printf("vmxinsn: %s %u -> %ld\n", hypercall_instruction(), UNKNOWN_HYPERCALL, r);
	guest_printf("vmxinsn: done\n");
}
