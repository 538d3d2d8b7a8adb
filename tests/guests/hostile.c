/*
 * hostile: what a misbehaving guest kernel, or a process inside a guest, tries
 * against Ferry. Every probe prints one line `hostile: PROBE RESULT` (RESULT is
 * a value, `ok`, `#GP`, `#UD`, or a hypercall's result as a signed number), in
 * this order, then `hostile: done` and halts:
 *
 *   pci-read 0xV        config reads through 0xCF8/0xCFC of every device on bus 0
 *                       (the AND of them all: all ones when Ferry gives none)
 *   pci-write ok        the command register of every device on bus 0 zeroed
 *                       through 0xCF8/0xCFC (what would switch the host's NIC off)
 *   cpuid7.edx 0xV      the speculation controls shown (CPUID.(7,0).EDX)
 *   rdmsr apic_base R   IA32_APIC_BASE; `wrmsr apic_base R` writing 0 (APIC off)
 *   rdmsr spec_ctrl R, wrmsr spec_ctrl R (IBRS), rdmsr spec_ctrl R (read back),
 *   wrmsr spec_ctrl.reserved R (bit 63), wrmsr pred_cmd R (IBPB),
 *   rdmsr arch_capabilities R
 *   wrmsr lstar.noncanonical R, then rdmsr lstar 0xV (unchanged by the refused write)
 *   print ram_end R     PRINT of the last 16 bytes of RAM ("edge-of-ram-ok!" and \n)
 *   print past_end R    PRINT of 16 bytes starting 8 before the end of RAM
 *   print at_end R      PRINT of 1 byte at the end of RAM; `print at_end.empty R`: 0 bytes there
 *   print wrap R        PRINT of 16 bytes at GPA 2^64-8 (the sum wraps)
 *   print too_long R    PRINT of 4097 bytes
 *   print controls R    PRINT of a line full of escape sequences, bells and bidi
 *                       overrides; the same line then goes out through the UART
 *   wbinvd ok           WBINVD executed (Ferry traps and skips it)
 *   cpl3 print R        a PRINT hypercall from user mode (CPL 3) of "cpl3-leak";
 *   cpl3 clock R        the clock hypercall from user mode
 *
 * mode=flood instead floods the console forever: a PRINT of 4096 newlines and a
 * UART line of control bytes, over and over, never waiting.
 */
#include "guest_rt.h"
#include "guest_trap.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_ENABLE         0x80000000u
#define PCI_DEVICES        32
#define PCI_DEVICE_SHIFT   11
#define PCI_REG_COMMAND    0x04

#define MSR_APIC_BASE      0x1b
#define MSR_SPEC_CTRL      0x48
#define MSR_PRED_CMD       0x49
#define MSR_ARCH_CAPS      0x10a
#define MSR_LSTAR          0xc0000082
#define SPEC_CTRL_IBRS     1ull
#define PRED_CMD_IBPB      1ull
#define NONCANONICAL       0x8000000000000000ull
#define PRINT_LIMIT        4096
#define EDGE_BYTES         16

static int faulted;   /* the vector of the last trap in a TRAP_TRY, 0 for none */

static void on_trap(struct trap_frame *frame)
{
	faulted = (int)frame->vector;
	if (!trap_resume_rip) {
		guest_printf("hostile: unexpected fault vector=%lu rip=0x%lx cs=0x%lx\n",
			     (unsigned long)frame->vector, (unsigned long)frame->rip, (unsigned long)frame->cs);
		guest_halt();
	}
	frame->rip = trap_resume_rip;
	trap_resume_rip = 0;
}

static const char *fault_name(void)
{
	return faulted == TRAP_VECTOR_GP ? "#GP" : faulted == TRAP_VECTOR_UD ? "#UD" : "#PF";
}

/* ---- PCI configuration space through the legacy ports -------------------------------- */

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %w1" : : "a"(v), "d"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %w1, %0" : "=a"(v) : "d"(port));
	return v;
}

static void probe_pci(void)
{
	uint32_t all = 0xffffffffu;

	for (uint32_t dev = 0; dev < PCI_DEVICES; dev++) {
		outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | dev << PCI_DEVICE_SHIFT);
		all &= inl(PCI_CONFIG_DATA);
	}
	guest_printf("hostile: pci-read 0x%x\n", all);
	for (uint32_t dev = 0; dev < PCI_DEVICES; dev++) {
		outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | dev << PCI_DEVICE_SHIFT | PCI_REG_COMMAND);
		outl(PCI_CONFIG_DATA, 0);
	}
	guest_printf("hostile: pci-write ok\n");
}

/* ---- MSRs ------------------------------------------------------------------------------ */

static void report(const char *what, const char *name, int ok, uint64_t value, int show_value)
{
	if (!ok)
		guest_printf("hostile: %s %s %s\n", what, name, fault_name());
	else if (show_value)
		guest_printf("hostile: %s %s 0x%lx\n", what, name, (unsigned long)value);
	else
		guest_printf("hostile: %s %s ok\n", what, name);
}

static void rdmsr_probe(const char *name, uint32_t msr)
{
	uint32_t lo = 0, hi = 0;

	faulted = 0;
	TRAP_TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(msr) : "r11", "memory");
	report("rdmsr", name, !faulted, (uint64_t)hi << 32 | lo, 1);
}

static void wrmsr_probe(const char *name, uint32_t msr, uint64_t value)
{
	faulted = 0;
	TRAP_TRY("wrmsr", : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)) : "r11", "memory");
	report("wrmsr", name, !faulted, 0, 0);
}

static void probe_msrs(void)
{
	uint32_t eax = 7, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	guest_printf("hostile: cpuid7.edx 0x%x\n", edx);
	rdmsr_probe("apic_base", MSR_APIC_BASE);
	wrmsr_probe("apic_base", MSR_APIC_BASE, 0);
	rdmsr_probe("spec_ctrl", MSR_SPEC_CTRL);
	wrmsr_probe("spec_ctrl", MSR_SPEC_CTRL, SPEC_CTRL_IBRS);
	rdmsr_probe("spec_ctrl", MSR_SPEC_CTRL);
	wrmsr_probe("spec_ctrl.reserved", MSR_SPEC_CTRL, 1ull << 63);
	wrmsr_probe("spec_ctrl", MSR_SPEC_CTRL, 0);
	wrmsr_probe("pred_cmd", MSR_PRED_CMD, PRED_CMD_IBPB);
	rdmsr_probe("arch_capabilities", MSR_ARCH_CAPS);
	wrmsr_probe("lstar.noncanonical", MSR_LSTAR, NONCANONICAL);
	rdmsr_probe("lstar", MSR_LSTAR);
}

/* ---- PRINT at the edges ------------------------------------------------------------------ */

static const char controls[] =
	"controls: esc=\x1b[2J\x1b[31mred\x1b[0m bell=\x07 osc=\x1b]52;c;aGk=\x07 c1=\xc2\x9b"
	" rlo=\xe2\x80\xae" "deliaf del=\x7f end\n";

static long print_at(uint64_t gpa, uint64_t len)
{
	return hypercall(FERRY_HC_PRINT, gpa, len, 0);
}

static void probe_print(void)
{
	uint64_t end = boot_params->ram_bytes;
	static const char edge[EDGE_BYTES] = "edge-of-ram-ok!\n";   /* exactly 16 bytes, no NUL */

	memcpy((void *)(uintptr_t)(end - EDGE_BYTES), edge, EDGE_BYTES);
	guest_printf("hostile: print ram_end %ld\n", print_at(end - EDGE_BYTES, EDGE_BYTES));
	guest_printf("hostile: print past_end %ld\n", print_at(end - EDGE_BYTES / 2, EDGE_BYTES));
	guest_printf("hostile: print at_end %ld\n", print_at(end, 1));
	guest_printf("hostile: print at_end.empty %ld\n", print_at(end, 0));
	guest_printf("hostile: print wrap %ld\n", print_at(0ull - EDGE_BYTES / 2, EDGE_BYTES));
	guest_printf("hostile: print too_long %ld\n", print_at(end - PRINT_LIMIT - 1, PRINT_LIMIT + 1));
	guest_printf("hostile: print controls %ld\n",
		     hc_print(controls, sizeof(controls) - 1));
	uart_puts(controls);
}

/* ---- WBINVD and user mode --------------------------------------------------------------- */

static void probe_wbinvd(void)
{
	faulted = 0;
	TRAP_TRY("wbinvd", : : : "r11", "memory");
	guest_printf("hostile: wbinvd %s\n", faulted ? fault_name() : "ok");
}

static const char leak[] __attribute__((used)) = "cpl3-leak\n";   /* referenced from user_hypercall only */
static uint8_t user_stack[4096] __attribute__((aligned(16)));

/* At CPL 3, RDX = the hypercall number: PRINT of `leak`, or the clock; back with INT 0x80. */
void user_hypercall(void);
__asm__(".text\n"
	".globl user_hypercall\n"
	"user_hypercall:\n"
	"	mov %rdx, %rax\n"
	"	lea leak(%rip), %rdi\n"
	"	mov $10, %esi\n"          /* strlen(leak) */
	"	xor %edx, %edx\n"
	"	cmpl $0, hypercall_is_vmmcall(%rip)\n"
	"	jne 1f\n"
	"	vmcall\n"
	"	jmp 2f\n"
	"1:	vmmcall\n"
	"2:	int $0x80\n");

static void probe_user_mode(void)
{
	uint64_t top = (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack));

	trap_user_setup();
	long r = (long)trap_run_user(user_hypercall, top, FERRY_HC_PRINT);
	guest_printf("hostile: cpl3 print %ld\n", r);
	r = (long)trap_run_user(user_hypercall, top, FERRY_HC_CLOCK_NS);
	guest_printf("hostile: cpl3 clock %ld\n", r);
}

_Static_assert(sizeof(leak) - 1 == 10, "user_hypercall's length");

/* ---- the flood ----------------------------------------------------------------------------- */

static char newlines[PRINT_LIMIT];

static void flood(void)
{
	memset(newlines, '\n', sizeof(newlines));
	guest_printf("hostile: flooding\n");
	for (;;) {
		hc_print(newlines, sizeof(newlines));
		uart_puts(controls);
	}
}

void guest_main(void)
{
	trap_install(on_trap);
	if (arg_is("mode", "flood", 0))
		flood();
	guest_printf("hostile: start\n");
	probe_pci();
	probe_msrs();
	probe_print();
	probe_wbinvd();
	probe_user_mode();
	guest_printf("hostile: done\n");
}
