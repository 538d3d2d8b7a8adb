/*
 * The run loop of one slice and the VM-exit handlers, dispatched through a
 * table indexed by the basic exit reason (SDM Vol. 3C appendix C). A reason
 * without a handler stops that guest with a dump; it is never skipped.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/x86.h"
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/vmx/vmx.h"
#include "ferry/guest_abi.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/vm_internal.h"

#include <string.h>

#define FEATURE_CONTROL_LOCKED_VMX_OFF FEATURE_CONTROL_LOCK   /* what a guest without VMX sees */
#define EFER_GUEST_WRITABLE            (EFER_SCE | EFER_LME | EFER_NXE)
#define INTERRUPTIBILITY_STI_MOVSS     (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)
#define IDT_VECTORING_UNDEFINED        (1u << 12)   /* undefined in the vectoring field, reserved on entry */
#define PREEMPTION_TIMER_MAX           0xffffffffull
#define IO_ALL_ONES                    0xffffffffull
#define GPR_LOW32                      0xffffffffull

struct exit_ctx {
	struct vm *vm;
	struct vcpu *v;
	uint64_t qualification;
};

typedef enum vm_exit_action (*exit_handler)(struct exit_ctx *x);

/* ---- helpers ------------------------------------------------------------------------- */

static void skip_instruction(void)
{
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + vmread(VMCS_EXIT_INSTR_LEN));
	/* An emulated instruction ends blocking by STI or MOV SS, as executing it would. */
	uint64_t intr = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & INTERRUPTIBILITY_STI_MOVSS)
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)INTERRUPTIBILITY_STI_MOVSS);
}

static void inject_exception(unsigned vector, bool has_error, uint32_t error)
{
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT | vector;
	if (has_error) {
		info |= INTR_INFO_DELIVER_ERROR;
		vmwrite(VMCS_ENTRY_EXCEPTION_ERR, error);
	}
	vmwrite(VMCS_ENTRY_INTR_INFO, info);
}

static enum vm_exit_action inject_ud(struct exit_ctx *x)
{
	(void)x;
	inject_exception(VECTOR_UD, false, 0);
	return EXIT_RESUME;
}

static enum vm_exit_action inject_gp(void)
{
	inject_exception(VECTOR_GP, true, 0);
	return EXIT_RESUME;
}

static uint64_t *gpr_ref(struct vcpu *v, unsigned index, uint64_t *rsp_slot)
{
	if (index == GPR_RSP) {
		*rsp_slot = vmread(VMCS_GUEST_RSP);
		return rsp_slot;
	}
	return &v->gpr[index];
}

static void gpr_store(struct vcpu *v, unsigned index, uint64_t value)
{
	if (index == GPR_RSP)
		vmwrite(VMCS_GUEST_RSP, value);
	else
		v->gpr[index] = value;
}

static bool canonical(uint64_t a)
{
	return x86_canonical(a);
}

static void set_long_mode(struct vcpu *v, uint64_t efer, bool paging)
{
	if ((efer & EFER_LME) && paging)
		efer |= EFER_LMA;
	else
		efer &= ~EFER_LMA;
	vmwrite(VMCS_GUEST_EFER, efer);
	if (efer & EFER_LMA)
		v->entry |= ENTRY_IA32E_MODE_GUEST;
	else
		v->entry &= ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, v->entry);
}

/* ---- handlers ------------------------------------------------------------------------ */

static enum vm_exit_action on_end_slice(struct exit_ctx *x)
{
	(void)x;
	return EXIT_END_SLICE;
}

static enum vm_exit_action on_triple_fault(struct exit_ctx *x)
{
	vm_stop(x->vm, "triple fault");
	return EXIT_STOP;
}

static enum vm_exit_action on_init(struct exit_ctx *x)
{
	vm_stop(x->vm, "INIT signal");
	return EXIT_STOP;
}

static enum vm_exit_action on_cpuid(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr;
	struct cpuid_regs r = cpuid_guest(&x->vm->cpu, (uint32_t)g[GPR_RAX], (uint32_t)g[GPR_RCX]);

	g[GPR_RAX] = r.eax;
	g[GPR_RBX] = r.ebx;
	g[GPR_RCX] = r.ecx;
	g[GPR_RDX] = r.edx;
	skip_instruction();
	return EXIT_RESUME;
}

static enum vm_exit_action on_hlt(struct exit_ctx *x)
{
	/* No interrupts are ever delivered to a guest: HLT gives up the rest of the slice. */
	(void)x;
	skip_instruction();
	return EXIT_END_SLICE;
}

static enum vm_exit_action on_nop_instruction(struct exit_ctx *x)
{
	(void)x;   /* INVD: caches are coherent; nothing to drop */
	skip_instruction();
	return EXIT_RESUME;
}

static enum vm_exit_action on_rdpmc(struct exit_ctx *x)
{
	(void)x;
	return inject_gp();   /* no performance counters are offered */
}

static enum vm_exit_action on_vmcall(struct exit_ctx *x)
{
	x->vm->hypercalls++;
	enum vm_exit_action a = hypercall_handle(x->vm, x->v->gpr);
	if (a != EXIT_STOP)
		skip_instruction();
	return a;
}

static enum vm_exit_action mov_to_cr0(struct exit_ctx *x, uint64_t value)
{
	uint64_t efer = vmread(VMCS_GUEST_EFER);
	uint64_t cr4 = vmread(VMCS_CR4_SHADOW);

	if (value >> 32 || ((value & CR0_PG) && !(value & CR0_PE)) ||
	    ((value & CR0_NW) && !(value & CR0_CD)) ||
	    ((value & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE)))
		return inject_gp();
	const struct vmx_controls *c = vmx_controls();
	uint64_t real = (value | (c->cr0_fixed0 & ~(CR0_PE | CR0_PG))) & c->cr0_fixed1;
	bool paging_changes = (vmread(VMCS_GUEST_CR0) ^ real) & CR0_PG;
	vmwrite(VMCS_CR0_SHADOW, value);
	vmwrite(VMCS_GUEST_CR0, real);
	set_long_mode(x->v, efer, value & CR0_PG);
	if (paging_changes)
		vmx_invvpid(x->v->vpid);
	return EXIT_RESUME;
}

static enum vm_exit_action mov_to_cr4(struct exit_ctx *x, uint64_t value)
{
	if (value & ~vmx_guest_cr4_allowed())
		return inject_gp();
	if ((vmread(VMCS_GUEST_EFER) & EFER_LMA) && !(value & CR4_PAE))
		return inject_gp();
	const struct vmx_controls *c = vmx_controls();
	vmwrite(VMCS_CR4_SHADOW, value);
	vmwrite(VMCS_GUEST_CR4, (value | c->cr4_fixed0) & c->cr4_fixed1);
	vmx_invvpid(x->v->vpid);   /* PGE/PAE/PSE changes flush the TLB */
	return EXIT_RESUME;
}

static enum vm_exit_action on_cr_access(struct exit_ctx *x)
{
	uint64_t q = x->qualification, rsp;
	unsigned cr = CR_QUAL_NUMBER(q), type = CR_QUAL_TYPE(q), reg = CR_QUAL_GPR(q);
	enum vm_exit_action a;

	if (type == CR_ACCESS_MOV_TO) {
		uint64_t value = *gpr_ref(x->v, reg, &rsp);
		if (cr == 0)
			a = mov_to_cr0(x, value);
		else if (cr == 4)
			a = mov_to_cr4(x, value);
		else if (cr == 3) {
			vmwrite(VMCS_GUEST_CR3, value);
			vmx_invvpid(x->v->vpid);
			a = EXIT_RESUME;
		} else if (cr == 8) {
			a = EXIT_RESUME;   /* no APIC: the task priority has no effect */
		} else {
			return inject_ud(x);
		}
	} else if (type == CR_ACCESS_MOV_FROM && (cr == 3 || cr == 8)) {
		gpr_store(x->v, reg, cr == 3 ? vmread(VMCS_GUEST_CR3) : 0);
		a = EXIT_RESUME;
	} else {
		return inject_ud(x);
	}
	if (vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)
		return a;   /* a fault: the instruction did not complete */
	skip_instruction();
	return a;
}

static enum vm_exit_action on_dr_access(struct exit_ctx *x)
{
	/* DR0-3 and DR6 are kept in software only, so a guest cannot set breakpoints on Ferry. */
	uint64_t q = x->qualification, rsp;
	unsigned dr = DR_QUAL_NUMBER(q), reg = DR_QUAL_GPR(q);
	uint64_t *slot = dr < 4 ? &x->v->dr[dr] : dr == 6 ? &x->v->dr6 : NULL;

	if (dr == 4 || dr == 5)
		return inject_ud(x);   /* with CR4.DE clear they alias 6 and 7; keep it simple */
	if (q & DR_QUAL_FROM)
		gpr_store(x->v, reg, slot ? *slot : vmread(VMCS_GUEST_DR7));
	else {
		uint64_t value = *gpr_ref(x->v, reg, &rsp);
		if (value >> 32 && dr >= 6)
			return inject_gp();
		if (slot)
			*slot = value;
		else
			vmwrite(VMCS_GUEST_DR7, value);
	}
	skip_instruction();
	return EXIT_RESUME;
}

static void set_in_result(uint64_t *rax, unsigned size, uint64_t value)
{
	if (size == 4)
		*rax = value & GPR_LOW32;   /* a 32-bit destination zero-extends */
	else {
		uint64_t mask = (1ull << (8 * size)) - 1;
		*rax = (*rax & ~mask) | (value & mask);
	}
}

static enum vm_exit_action on_io(struct exit_ctx *x)
{
	uint64_t q = x->qualification;
	unsigned size = (unsigned)(q & IO_QUAL_SIZE_MASK) + 1;
	unsigned port = (unsigned)(q >> IO_QUAL_PORT_SHIFT) & 0xffff;
	bool in = q & IO_QUAL_IN;
	uint64_t *rax = &x->v->gpr[GPR_RAX];

	if (q & IO_QUAL_STRING) {
		/* INS/OUTS are not emulated: counted and skipped (a REP prefix completes at once). */
		x->vm->io_string++;
		if (q & IO_QUAL_REP)
			x->v->gpr[GPR_RCX] = 0;
		skip_instruction();
		return EXIT_RESUME;
	}
	if (port >= FERRY_UART_PORT && port < FERRY_UART_PORT + VDEV_UART_PORTS) {
		unsigned reg = port - FERRY_UART_PORT;
		if (in)
			set_in_result(rax, size, 0xffffff00ull | vdev_uart_read(&x->vm->uart, reg));
		else
			vdev_uart_write(&x->vm->uart, reg, (uint8_t)*rax);
	} else if (in) {
		x->vm->io_other_reads++;
		set_in_result(rax, size, IO_ALL_ONES);
	} else {
		x->vm->io_other_writes++;
	}
	skip_instruction();
	return EXIT_RESUME;
}

static bool read_msr(struct vcpu *v, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_TSC:       *value = vcpu_guest_tsc(v); return true;
	case MSR_IA32_FEATURE_CONTROL: *value = FEATURE_CONTROL_LOCKED_VMX_OFF; return true;
	case MSR_IA32_SYSENTER_CS:    *value = vmread(VMCS_GUEST_SYSENTER_CS); return true;
	case MSR_IA32_SYSENTER_ESP:   *value = vmread(VMCS_GUEST_SYSENTER_ESP); return true;
	case MSR_IA32_SYSENTER_EIP:   *value = vmread(VMCS_GUEST_SYSENTER_EIP); return true;
	case MSR_IA32_MISC_ENABLE:    *value = MISC_ENABLE_FAST_STRINGS; return true;
	case MSR_IA32_PAT:       *value = vmread(VMCS_GUEST_PAT); return vmx_controls()->load_pat;
	case MSR_IA32_EFER:      *value = vmread(VMCS_GUEST_EFER); return true;
	case MSR_STAR:           *value = v->star; return true;
	case MSR_LSTAR:          *value = v->lstar; return true;
	case MSR_CSTAR:          *value = v->cstar; return true;
	case MSR_SFMASK:         *value = v->sfmask; return true;
	case MSR_FS_BASE:        *value = vmread(VMCS_GUEST_ES_BASE + 2 * SEG_FS); return true;
	case MSR_GS_BASE:        *value = vmread(VMCS_GUEST_ES_BASE + 2 * SEG_GS); return true;
	case MSR_KERNEL_GS_BASE: *value = rdmsr(MSR_KERNEL_GS_BASE); return true;  /* this vCPU's, loaded */
	default:                 return false;
	}
}

static bool pat_ok(uint64_t pat)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (pat >> (8 * i)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

static bool write_msr(struct vcpu *v, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case MSR_IA32_TSC:
		vcpu_set_guest_tsc(v, value);
		return true;
	case MSR_IA32_SYSENTER_CS:
		vmwrite(VMCS_GUEST_SYSENTER_CS, value & GPR_LOW32);
		return true;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!canonical(value))
			return false;
		vmwrite(msr == MSR_IA32_SYSENTER_ESP ? VMCS_GUEST_SYSENTER_ESP : VMCS_GUEST_SYSENTER_EIP, value);
		return true;
	case MSR_IA32_MISC_ENABLE:
		return true;   /* ignored */
	case MSR_IA32_PAT:
		if (!vmx_controls()->load_pat || !pat_ok(value))
			return false;
		vmwrite(VMCS_GUEST_PAT, value);
		return true;
	case MSR_IA32_EFER: {
		uint64_t old = vmread(VMCS_GUEST_EFER);
		bool paging = vmread(VMCS_CR0_SHADOW) & CR0_PG;
		if (value & ~(EFER_GUEST_WRITABLE | EFER_LMA))
			return false;
		if (paging && ((value ^ old) & EFER_LME))
			return false;   /* LME cannot change while paging is on */
		set_long_mode(v, value & EFER_GUEST_WRITABLE, paging);
		return true;
	}
	case MSR_STAR:
		v->star = value;
		wrmsr(MSR_STAR, value);
		return true;
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_KERNEL_GS_BASE:
		if (!canonical(value))
			return false;
		if (msr == MSR_LSTAR)
			v->lstar = value;
		else if (msr == MSR_CSTAR)
			v->cstar = value;
		else
			v->kernel_gs_base = value;
		wrmsr(msr, value);
		return true;
	case MSR_SFMASK:
		if (value >> 32)
			return false;
		v->sfmask = value;
		wrmsr(MSR_SFMASK, value);
		return true;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
		if (!canonical(value))
			return false;
		vmwrite(VMCS_GUEST_ES_BASE + 2 * (msr == MSR_FS_BASE ? SEG_FS : SEG_GS), value);
		return true;
	default:
		return false;
	}
}

static enum vm_exit_action on_rdmsr(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr, value;

	if (!read_msr(x->v, (uint32_t)g[GPR_RCX], &value))
		return inject_gp();
	g[GPR_RAX] = value & GPR_LOW32;
	g[GPR_RDX] = value >> 32;
	skip_instruction();
	return EXIT_RESUME;
}

static enum vm_exit_action on_wrmsr(struct exit_ctx *x)
{
	uint64_t *g = x->v->gpr;
	uint64_t value = (g[GPR_RDX] & GPR_LOW32) << 32 | (g[GPR_RAX] & GPR_LOW32);

	if (!write_msr(x->v, (uint32_t)g[GPR_RCX], value))
		return inject_gp();
	skip_instruction();
	return EXIT_RESUME;
}

static void dump_guest(struct vm *vm)
{
	kprintf("guest %s: rip=0x%llx rsp=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n",
		vm->name, (unsigned long long)vmread(VMCS_GUEST_RIP),
		(unsigned long long)vmread(VMCS_GUEST_RSP), (unsigned long long)vmread(VMCS_GUEST_RFLAGS),
		(unsigned long long)vmread(VMCS_GUEST_CR0), (unsigned long long)vmread(VMCS_GUEST_CR3),
		(unsigned long long)vmread(VMCS_GUEST_CR4), (unsigned long long)vmread(VMCS_GUEST_EFER));
	static const char *const names[SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	for (unsigned i = 0; i < SEG_COUNT; i++)
		kprintf("guest %s: %-4s sel=0x%04llx base=0x%llx limit=0x%llx ar=0x%llx\n", vm->name,
			names[i], (unsigned long long)vmread(VMCS_GUEST_ES_SEL + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_BASE + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_LIMIT + 2 * i),
			(unsigned long long)vmread(VMCS_GUEST_ES_AR + 2 * i));
	kprintf("guest %s: entry_controls=0x%llx proc=0x%llx proc2=0x%llx intr_info=0x%llx activity=%llu\n",
		vm->name, (unsigned long long)vmread(VMCS_ENTRY_CONTROLS),
		(unsigned long long)vmread(VMCS_PROC_CONTROLS), (unsigned long long)vmread(VMCS_PROC2_CONTROLS),
		(unsigned long long)vmread(VMCS_ENTRY_INTR_INFO), (unsigned long long)vmread(VMCS_GUEST_ACTIVITY));
}

static enum vm_exit_action on_entry_failure(struct exit_ctx *x)
{
	/* SDM Vol. 3C 26.8: the qualification names the failed check for MSR loading; 26.3 lists guest-state checks. */
	dump_guest(x->vm);
	vm_stop(x->vm, "VM entry failed: exit reason %llu, qualification 0x%llx",
		(unsigned long long)(vmread(VMCS_EXIT_REASON) & EXIT_REASON_BASIC_MASK),
		(unsigned long long)x->qualification);
	return EXIT_STOP;
}

static const char *access_kind(uint64_t q)
{
	if (q & EPT_QUAL_WRITE)
		return "write";
	if (q & EPT_QUAL_FETCH)
		return "fetch";
	return "read";
}

static enum vm_exit_action on_ept_violation(struct exit_ctx *x)
{
	vm_stop(x->vm, "EPT violation at GPA 0x%llx (%s)",
		(unsigned long long)vmread(VMCS_GUEST_PHYS_ADDR), access_kind(x->qualification));
	return EXIT_STOP;
}

static enum vm_exit_action on_ept_misconfig(struct exit_ctx *x)
{
	vm_stop(x->vm, "EPT misconfiguration at GPA 0x%llx",
		(unsigned long long)vmread(VMCS_GUEST_PHYS_ADDR));
	return EXIT_STOP;
}

static enum vm_exit_action on_pml_full(struct exit_ctx *x)
{
	vm_pml_full(x->vm);
	return EXIT_RESUME;
}

static const exit_handler handlers[EXIT_REASON_COUNT] = {
	[EXIT_EXCEPTION_NMI] = on_end_slice,        /* exception bitmap is 0: only host NMIs */
	[EXIT_EXTERNAL_INTERRUPT] = on_end_slice,   /* the interrupt stays pending for Ferry */
	[EXIT_TRIPLE_FAULT] = on_triple_fault,
	[EXIT_INIT] = on_init,
	[EXIT_SIPI] = on_end_slice,
	[EXIT_CPUID] = on_cpuid,
	[EXIT_GETSEC] = inject_ud,
	[EXIT_HLT] = on_hlt,
	[EXIT_INVD] = on_nop_instruction,
	[EXIT_RDPMC] = on_rdpmc,
	[EXIT_VMCALL] = on_vmcall,
	[EXIT_VMCLEAR] = inject_ud,
	[EXIT_VMLAUNCH] = inject_ud,
	[EXIT_VMPTRLD] = inject_ud,
	[EXIT_VMPTRST] = inject_ud,
	[EXIT_VMREAD] = inject_ud,
	[EXIT_VMRESUME] = inject_ud,
	[EXIT_VMWRITE] = inject_ud,
	[EXIT_VMXOFF] = inject_ud,
	[EXIT_VMXON] = inject_ud,
	[EXIT_CR_ACCESS] = on_cr_access,
	[EXIT_DR_ACCESS] = on_dr_access,
	[EXIT_IO] = on_io,
	[EXIT_RDMSR] = on_rdmsr,
	[EXIT_WRMSR] = on_wrmsr,
	[EXIT_ENTRY_INVALID_GUEST] = on_entry_failure,
	[EXIT_ENTRY_MSR_LOADING] = on_entry_failure,
	[EXIT_MWAIT] = inject_ud,
	[EXIT_MONITOR] = inject_ud,
	[EXIT_ENTRY_MACHINE_CHECK] = on_entry_failure,
	[EXIT_EPT_VIOLATION] = on_ept_violation,
	[EXIT_EPT_MISCONFIG] = on_ept_misconfig,
	[EXIT_INVEPT] = inject_ud,
	[EXIT_PREEMPTION_TIMER] = on_end_slice,
	[EXIT_INVVPID] = inject_ud,
	[EXIT_XSETBV] = inject_ud,
	[EXIT_VMFUNC] = inject_ud,
	[EXIT_PML_FULL] = on_pml_full,
};

static const char *const reason_names[EXIT_REASON_COUNT] = {
	[EXIT_EXCEPTION_NMI] = "exception-nmi", [EXIT_EXTERNAL_INTERRUPT] = "external-interrupt",
	[EXIT_TRIPLE_FAULT] = "triple-fault", [EXIT_INIT] = "init", [EXIT_SIPI] = "sipi",
	[EXIT_TASK_SWITCH] = "task-switch", [EXIT_CPUID] = "cpuid", [EXIT_GETSEC] = "getsec",
	[EXIT_HLT] = "hlt", [EXIT_INVD] = "invd", [EXIT_RDPMC] = "rdpmc", [EXIT_RDTSC] = "rdtsc",
	[EXIT_VMCALL] = "vmcall", [EXIT_VMCLEAR] = "vmclear", [EXIT_VMLAUNCH] = "vmlaunch",
	[EXIT_VMPTRLD] = "vmptrld", [EXIT_VMPTRST] = "vmptrst", [EXIT_VMREAD] = "vmread",
	[EXIT_VMRESUME] = "vmresume", [EXIT_VMWRITE] = "vmwrite", [EXIT_VMXOFF] = "vmxoff",
	[EXIT_VMXON] = "vmxon", [EXIT_CR_ACCESS] = "cr-access", [EXIT_DR_ACCESS] = "dr-access",
	[EXIT_IO] = "io", [EXIT_RDMSR] = "rdmsr", [EXIT_WRMSR] = "wrmsr",
	[EXIT_ENTRY_INVALID_GUEST] = "entry-invalid-guest", [EXIT_ENTRY_MSR_LOADING] = "entry-msr-load",
	[EXIT_MWAIT] = "mwait", [EXIT_MONITOR] = "monitor", [EXIT_PAUSE] = "pause",
	[EXIT_ENTRY_MACHINE_CHECK] = "entry-machine-check", [EXIT_EPT_VIOLATION] = "ept-violation",
	[EXIT_EPT_MISCONFIG] = "ept-misconfig", [EXIT_INVEPT] = "invept", [EXIT_RDTSCP] = "rdtscp",
	[EXIT_PREEMPTION_TIMER] = "preemption-timer", [EXIT_INVVPID] = "invvpid",
	[EXIT_WBINVD] = "wbinvd", [EXIT_XSETBV] = "xsetbv", [EXIT_INVPCID] = "invpcid",
	[EXIT_VMFUNC] = "vmfunc", [EXIT_PML_FULL] = "pml-full",
};

const char *vmx_exit_reason_name(unsigned reason)
{
	return reason < EXIT_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "other";
}

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

void vm_run_slice(struct vm *vm, uint64_t slice_ns)
{
	struct vcpu *v = &vm->vcpu;
	const struct vmx_controls *c = vmx_controls();
	uint64_t slice_ticks = clock_tsc_hz() / 1000000 * (slice_ns / 1000);
	uint64_t end = rdtsc() + slice_ticks;

	vcpu_load(v);
	vcpu_switch_to(v);
	while (vm->state == VM_RUNNING) {
		uint64_t now = rdtsc();
		if (now >= end)
			break;
		uint64_t timer = (end - now) >> c->preemption_rate;
		vmwrite(VMCS_PREEMPTION_TIMER, timer > PREEMPTION_TIMER_MAX ? PREEMPTION_TIMER_MAX : timer);
		write_cr2(v->cr2);
		int failed = vmx_enter(v->gpr, v->launched);
		v->cr2 = read_cr2();
		if (failed) {
			dump_guest(vm);
			vm_stop(vm, "VM entry failed: VM-instruction error %llu",
				(unsigned long long)vmread(VMCS_INSTR_ERROR));
			break;
		}
		v->launched = true;
		uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
		unsigned basic = reason & EXIT_REASON_BASIC_MASK;
		struct exit_ctx x = { vm, v, vmread(VMCS_EXIT_QUALIFICATION) };
		vm->exits_total++;
		if (basic < EXIT_REASON_COUNT)
			vm->exit_counts[basic]++;
		else
			vm->exits_other++;
		if (reason & EXIT_REASON_ENTRY_FAILURE) {
			on_entry_failure(&x);
			break;
		}
		reinject_interrupted_event();
		exit_handler h = basic < EXIT_REASON_COUNT ? handlers[basic] : NULL;
		if (!h) {
			dump_guest(vm);
			vm_stop(vm, "unhandled VM exit, reason %u, qualification 0x%llx", basic,
				(unsigned long long)x.qualification);
			break;
		}
		enum vm_exit_action a = h(&x);
		if (a != EXIT_RESUME)
			break;
	}
}
