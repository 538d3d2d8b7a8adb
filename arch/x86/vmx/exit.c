/*
 * The run loop of one vcpu_run() call and the VM-exit dispatch: one table of
 * {handler, name} indexed by the basic exit reason (SDM Vol. 3C appendix C),
 * bounds-checked. A reason without a handler stops the guest with a register
 * dump; it is never skipped. The exits the VM layer finishes are in io.c, MSRs
 * in msr.c, control and debug registers in cr.c, PML in dirty.c.
 */
#include "arch/x86/vmx/vcpu_vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/mce.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/vmx/vmx.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"

#include <stdarg.h>

#define IDT_VECTORING_UNDEFINED    (1u << 12)   /* undefined in the vectoring field, reserved on entry */
#define PREEMPTION_TIMER_MAX       0xffffffffull

/* Ends vcpu_run with VCPU_EXIT_STOP and the reason. */
static enum exit_action stop(struct exit_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static enum exit_action stop(struct exit_ctx *x, const char *fmt, ...)
{
	va_list ap;

	x->out->kind = VCPU_EXIT_STOP;
	va_start(ap, fmt);
	fmt_vsnprintf(x->out->stop_reason, sizeof(x->out->stop_reason), fmt, ap);
	va_end(ap);
	return EXIT_REPORT;
}

static enum exit_action report(struct exit_ctx *x, enum vcpu_exit_kind kind)
{
	x->out->kind = kind;
	return EXIT_REPORT;
}

static void dump_guest(const struct vcpu *v)
{
	kprintf("guest %s: rip=0x%llx rsp=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n",
		v->name, (unsigned long long)vmread(VMCS_GUEST_RIP),
		(unsigned long long)vmread(VMCS_GUEST_RSP), (unsigned long long)vmread(VMCS_GUEST_RFLAGS),
		(unsigned long long)vmread(VMCS_GUEST_CR0), (unsigned long long)vmread(VMCS_GUEST_CR3),
		(unsigned long long)vmread(VMCS_GUEST_CR4), (unsigned long long)vmread(VMCS_GUEST_EFER));
	static const char *const names[SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	for (unsigned i = 0; i < SEG_COUNT; i++)
		kprintf("guest %s: %-4s sel=0x%04llx base=0x%llx limit=0x%llx ar=0x%llx\n", v->name,
			names[i], (unsigned long long)vmread(VMCS_GUEST_ES_SEL + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_BASE + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_LIMIT + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_AR + 2 * i));
	kprintf("guest %s: entry_controls=0x%llx proc=0x%llx proc2=0x%llx intr_info=0x%llx activity=%llu\n",
		v->name, (unsigned long long)vmread(VMCS_ENTRY_CONTROLS),
		(unsigned long long)vmread(VMCS_PROC_CONTROLS), (unsigned long long)vmread(VMCS_PROC2_CONTROLS),
		(unsigned long long)vmread(VMCS_ENTRY_INTR_INFO), (unsigned long long)vmread(VMCS_GUEST_ACTIVITY));
}

/* ---- handlers ------------------------------------------------------------------------ */

static enum exit_action on_end_slice(struct exit_ctx *x)
{
	return report(x, VCPU_EXIT_SLICE_END);
}

static enum exit_action on_triple_fault(struct exit_ctx *x)
{
	if (mce_in_progress())   /* a machine check the guest's context could not take */
		return vmx_on_machine_check(x);
	return stop(x, "triple fault");
}

static enum exit_action on_init(struct exit_ctx *x)
{
	return stop(x, "INIT signal");
}

static enum exit_action on_cpuid(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr;
	struct cpuid_regs r = cpuid_guest(x->v->cpuid, (uint32_t)g[GPR_RAX], (uint32_t)g[GPR_RCX]);

	g[GPR_RAX] = r.eax;
	g[GPR_RBX] = r.ebx;
	g[GPR_RCX] = r.ecx;
	g[GPR_RDX] = r.edx;
	vmx_skip_instruction();
	return EXIT_RESUME;
}

static enum exit_action on_hlt(struct exit_ctx *x)
{
	/* No interrupts are ever delivered to a guest: the VM layer gives up the rest of the slice. */
	vmx_skip_instruction();
	return report(x, VCPU_EXIT_HALT);
}

static enum exit_action on_nop_instruction(struct exit_ctx *x)
{
	(void)x;   /* INVD: caches are coherent; nothing to drop */
	vmx_skip_instruction();
	return EXIT_RESUME;
}

static enum exit_action on_rdpmc(struct exit_ctx *x)
{
	(void)x;
	return vmx_inject_gp();   /* no performance counters are offered */
}

static enum exit_action on_entry_failure(struct exit_ctx *x)
{
	/* SDM Vol. 3C 26.8: the qualification names the failed check for MSR loading; 26.3 lists guest-state checks. */
	dump_guest(x->v);
	return stop(x, "VM entry failed: exit reason %llu, qualification 0x%llx",
		    (unsigned long long)(vmread(VMCS_EXIT_REASON) & EXIT_REASON_BASIC_MASK),
		    (unsigned long long)x->qualification);
}

static const char *access_kind(uint64_t q)
{
	if (q & EPT_QUAL_WRITE)
		return "write";
	if (q & EPT_QUAL_FETCH)
		return "fetch";
	return "read";
}

static enum exit_action on_ept_violation(struct exit_ctx *x)
{
	return stop(x, "EPT violation at GPA 0x%llx (%s)",
		    (unsigned long long)vmread(VMCS_GUEST_PHYS_ADDR), access_kind(x->qualification));
}

static enum exit_action on_ept_misconfig(struct exit_ctx *x)
{
	return stop(x, "EPT misconfiguration at GPA 0x%llx",
		    (unsigned long long)vmread(VMCS_GUEST_PHYS_ADDR));
}

/* ---- the table ----------------------------------------------------------------------- */

static const struct {
	exit_handler handler;   /* NULL: the guest stops with a dump */
	const char *name;       /* for `vminfo`'s exits line */
} exits[EXIT_REASON_COUNT] = {
	[EXIT_EXCEPTION_NMI] = { vmx_on_exception_nmi, "exception-nmi" },   /* host NMIs and #MC only */
	[EXIT_EXTERNAL_INTERRUPT] = { on_end_slice, "external-interrupt" },   /* stays pending for Ferry */
	[EXIT_TRIPLE_FAULT] = { on_triple_fault, "triple-fault" },
	[EXIT_INIT] = { on_init, "init" },
	[EXIT_SIPI] = { on_end_slice, "sipi" },
	[EXIT_TASK_SWITCH] = { NULL, "task-switch" },
	[EXIT_CPUID] = { on_cpuid, "cpuid" },
	[EXIT_GETSEC] = { vmx_inject_ud, "getsec" },
	[EXIT_HLT] = { on_hlt, "hlt" },
	[EXIT_INVD] = { on_nop_instruction, "invd" },
	[EXIT_RDPMC] = { on_rdpmc, "rdpmc" },
	[EXIT_RDTSC] = { NULL, "rdtsc" },
	[EXIT_VMCALL] = { vmx_on_vmcall, "vmcall" },
	[EXIT_VMCLEAR] = { vmx_inject_ud, "vmclear" },
	[EXIT_VMLAUNCH] = { vmx_inject_ud, "vmlaunch" },
	[EXIT_VMPTRLD] = { vmx_inject_ud, "vmptrld" },
	[EXIT_VMPTRST] = { vmx_inject_ud, "vmptrst" },
	[EXIT_VMREAD] = { vmx_inject_ud, "vmread" },
	[EXIT_VMRESUME] = { vmx_inject_ud, "vmresume" },
	[EXIT_VMWRITE] = { vmx_inject_ud, "vmwrite" },
	[EXIT_VMXOFF] = { vmx_inject_ud, "vmxoff" },
	[EXIT_VMXON] = { vmx_inject_ud, "vmxon" },
	[EXIT_CR_ACCESS] = { vmx_on_cr_access, "cr-access" },
	[EXIT_DR_ACCESS] = { vmx_on_dr_access, "dr-access" },
	[EXIT_IO] = { vmx_on_io, "io" },
	[EXIT_RDMSR] = { vmx_on_rdmsr, "rdmsr" },
	[EXIT_WRMSR] = { vmx_on_wrmsr, "wrmsr" },
	[EXIT_ENTRY_INVALID_GUEST] = { on_entry_failure, "entry-invalid-guest" },
	[EXIT_ENTRY_MSR_LOADING] = { on_entry_failure, "entry-msr-load" },
	[EXIT_MWAIT] = { vmx_inject_ud, "mwait" },
	[EXIT_MONITOR] = { vmx_inject_ud, "monitor" },
	[EXIT_PAUSE] = { NULL, "pause" },
	[EXIT_ENTRY_MACHINE_CHECK] = { on_entry_failure, "entry-machine-check" },
	[EXIT_EPT_VIOLATION] = { on_ept_violation, "ept-violation" },
	[EXIT_EPT_MISCONFIG] = { on_ept_misconfig, "ept-misconfig" },
	[EXIT_INVEPT] = { vmx_inject_ud, "invept" },
	[EXIT_RDTSCP] = { NULL, "rdtscp" },
	[EXIT_PREEMPTION_TIMER] = { on_end_slice, "preemption-timer" },
	[EXIT_INVVPID] = { vmx_inject_ud, "invvpid" },
	[EXIT_WBINVD] = { vmx_on_wbinvd, "wbinvd" },
	[EXIT_XSETBV] = { vmx_inject_ud, "xsetbv" },
	[EXIT_INVPCID] = { NULL, "invpcid" },
	[EXIT_VMFUNC] = { vmx_inject_ud, "vmfunc" },
	[EXIT_PML_FULL] = { vmx_on_pml_full, "pml-full" },
};

uint64_t vmx_vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			      void *ctx)
{
	for (unsigned r = 0; fn && r < EXIT_REASON_COUNT; r++)
		if (v->exit_counts[r])
			fn(exits[r].name ? exits[r].name : "other", v->exit_counts[r], ctx);
	if (fn && v->exits_other)
		fn("other", v->exits_other, ctx);
	return v->exits_total;
}

/* ---- the run loop -------------------------------------------------------------------- */

/* An event whose delivery the exit interrupted is delivered again on the next entry (SDM 27.2.4). */
static void reinject_interrupted_event(void)
{
	uint32_t info = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

	if (!(info & INTR_INFO_VALID))
		return;
	unsigned type = INTR_INFO_TYPE(info);
	if (type != INTR_TYPE_EXTERNAL && type != INTR_TYPE_NMI && type != INTR_TYPE_HW_EXCEPTION)
		return;   /* software events: the instruction runs again */
	vmwrite(VMCS_ENTRY_INTR_INFO, info & ~IDT_VECTORING_UNDEFINED);
	if (info & INTR_INFO_DELIVER_ERROR)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERR, vmread(VMCS_IDT_VECTORING_ERR));
}

static void count_exit(struct vcpu *v, unsigned basic)
{
	v->exits_total++;
	if (basic < EXIT_REASON_COUNT)
		v->exit_counts[basic]++;
	else
		v->exits_other++;
}

/* Enters the guest for at most `ticks` of the TSC; false (with *out filled) when the entry itself failed. */
static bool enter(struct vcpu *v, uint64_t ticks, struct exit_ctx *x)
{
	uint64_t timer = ticks >> vmx_controls()->preemption_rate;

	vmwrite(VMCS_PREEMPTION_TIMER, timer > PREEMPTION_TIMER_MAX ? PREEMPTION_TIMER_MAX : timer);
	write_cr2(v->cr2);
	spec_hw_enter(&v->spec, v);
	int failed = vmx_enter(v->gpr, v->launched);
	spec_hw_exit(&v->spec);
	v->cr2 = read_cr2();
	if (failed) {
		dump_guest(v);
		stop(x, "VM entry failed: VM-instruction error %llu",
		     (unsigned long long)vmread(VMCS_INSTR_ERROR));
		return false;
	}
	v->launched = true;
	return true;
}

void vmx_vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *out)
{
	struct exit_ctx x = { v, out, 0 };

	vmx_vcpu_load(v);
	vmx_vcpu_switch_to(v);
	for (;;) {
		uint64_t now = rdtsc();
		if (now >= deadline_tsc) {
			on_end_slice(&x);
			return;
		}
		if (!enter(v, deadline_tsc - now, &x))
			return;
		uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
		unsigned basic = reason & EXIT_REASON_BASIC_MASK;
		x.qualification = vmread(VMCS_EXIT_QUALIFICATION);
		count_exit(v, basic);
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			on_entry_failure(&x);
			return;
		}
		reinject_interrupted_event();
		exit_handler h = basic < EXIT_REASON_COUNT ? exits[basic].handler : NULL;
		if (!h) {
			dump_guest(v);
			stop(&x, "unhandled VM exit, reason %u, qualification 0x%llx", basic,
			     (unsigned long long)x.qualification);
			return;
		}
		if (h(&x) == EXIT_REPORT)
			return;
	}
}
