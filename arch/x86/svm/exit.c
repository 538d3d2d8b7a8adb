/*
 * The run loop of the SVM backend and its exit handlers, dispatched through a
 * table indexed by exit code (AMD64 APM Vol. 2, appendix C); the CR and DR
 * intercepts are in ctlreg.c, MSRs in msr.c. An exit code without a handler
 * stops that guest with a reason; it is never skipped.
 *
 * Without NRIP save (QEMU's TCG has none) RIP moves by the instruction's
 * length: CPUID, RDMSR, WRMSR and INVD 2 bytes, HLT 1, VMMCALL 3; the I/O
 * intercept gives the next RIP in EXITINFO2 (15.10.2).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/cpuid_guest.h"
#include "arch/x86/mce.h"
#include "arch/x86/spec_hw.h"
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/timer.h"
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/x86.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"

#include <stdarg.h>
#include <string.h>

#define LENGTH_CPUID   2   /* 0F A2 */
#define LENGTH_HLT     1   /* F4 */
#define LENGTH_VMMCALL 3   /* 0F 01 D9 */
#define LENGTH_MSR     2   /* 0F 32, 0F 30 */
#define LENGTH_INVD    2   /* 0F 08 */
#define LOW32          0xffffffffull

typedef enum svm_exit_action (*exit_handler)(struct vcpu *v, unsigned code, struct vcpu_exit *exit);

/* ---- helpers ------------------------------------------------------------------------------ */

uint64_t svm_gpr_read(const struct vcpu *v, unsigned gpr)
{
	if (gpr == GPR_RAX)
		return v->vmcb->save.rax;
	if (gpr == GPR_RSP)
		return v->vmcb->save.rsp;
	return v->gpr[gpr];
}

void svm_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value)
{
	if (gpr == GPR_RAX)
		v->vmcb->save.rax = value;
	else if (gpr == GPR_RSP)
		v->vmcb->save.rsp = value;
	else
		v->gpr[gpr] = value;
}

void svm_set_rip(struct vcpu *v, uint64_t rip)
{
	v->vmcb->save.rip = rip;
	v->vmcb->control.int_state &= ~SVM_INT_STATE_SHADOW;
}

/* Where the intercepted instruction ends: NRIP when the CPU saved it, else RIP plus its length. */
static uint64_t next_rip(const struct vcpu *v, unsigned length)
{
	const struct vmcb_control *c = &v->vmcb->control;

	if (svm_host()->features.nrips && c->next_rip)
		return c->next_rip;
	return v->vmcb->save.rip + length;
}

void svm_skip_instruction(struct vcpu *v, unsigned length)
{
	svm_set_rip(v, next_rip(v, length));
}

void svm_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
	struct vmcb_control *c = &v->vmcb->control;

	c->event_inj = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION << SVM_EVENT_TYPE_SHIFT | vector |
		       (has_error ? SVM_EVENT_ERROR_VALID : 0);
	c->event_inj_error = has_error ? error : 0;
}

enum svm_exit_action svm_stop(struct vcpu *v, struct vcpu_exit *exit, const char *fmt, ...)
{
	va_list ap;

	(void)v;
	exit->kind = VCPU_EXIT_STOP;
	va_start(ap, fmt);
	fmt_vsnprintf(exit->stop_reason, sizeof(exit->stop_reason), fmt, ap);
	va_end(ap);
	return SVM_REPORT;
}

static void dump_guest(const struct vcpu *v)
{
	const struct vmcb_save *s = &v->vmcb->save;
	const struct vmcb_segment *segs[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldtr, &s->tr };
	static const char *const names[] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };

	kprintf("guest %s: rip=0x%llx rsp=0x%llx rflags=0x%llx cr0=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx cpl=%u\n",
		v->name, (unsigned long long)s->rip, (unsigned long long)s->rsp, (unsigned long long)s->rflags,
		(unsigned long long)s->cr0, (unsigned long long)s->cr3, (unsigned long long)s->cr4,
		(unsigned long long)s->efer, s->cpl);
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		kprintf("guest %s: %-4s sel=0x%04x attrib=0x%03x limit=0x%x base=0x%llx\n", v->name, names[i],
			segs[i]->selector, segs[i]->attrib, segs[i]->limit, (unsigned long long)segs[i]->base);
	kprintf("guest %s: asid=%u event_inj=0x%x int_state=0x%x\n", v->name, v->vmcb->control.guest_asid,
		v->vmcb->control.event_inj, v->vmcb->control.int_state);
}

/* ---- handlers -------------------------------------------------------------------------------- */

static enum svm_exit_action end_slice(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)v, (void)code;
	exit->kind = VCPU_EXIT_SLICE_END;   /* a host interrupt is pending: it is Ferry's */
	return SVM_REPORT;
}

static enum svm_exit_action resume(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)v, (void)code, (void)exit;   /* an NMI or SMI: held until STGI, then the host takes it */
	return SVM_RESUME;
}

static enum svm_exit_action on_init(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code;
	return svm_stop(v, exit, "INIT signal");
}

static enum svm_exit_action on_shutdown(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code;
	if (mce_in_progress())   /* a machine check with the guest's CR4.MCE clear (spec.c) */
		return svm_on_machine_check(v, exit);
	return svm_stop(v, exit, "triple fault");
}

static enum svm_exit_action on_machine_check(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code;
	return svm_on_machine_check(v, exit);
}

static enum svm_exit_action inject_ud(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code, (void)exit;
	svm_inject_exception(v, VECTOR_UD, false, 0);
	return SVM_RESUME;
}

static enum svm_exit_action on_rdpmc(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code, (void)exit;
	svm_inject_exception(v, VECTOR_GP, true, 0);   /* no performance counters are offered */
	return SVM_RESUME;
}

static enum svm_exit_action on_invd(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code, (void)exit;   /* caches are coherent: nothing to drop */
	svm_skip_instruction(v, LENGTH_INVD);
	return SVM_RESUME;
}

static enum svm_exit_action on_cpuid(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code, (void)exit;
	struct cpuid_regs r = cpuid_guest(v->cpuid, (uint32_t)svm_gpr_read(v, GPR_RAX),
					  (uint32_t)svm_gpr_read(v, GPR_RCX));
	svm_gpr_write(v, GPR_RAX, r.eax);
	svm_gpr_write(v, GPR_RBX, r.ebx);
	svm_gpr_write(v, GPR_RCX, r.ecx);
	svm_gpr_write(v, GPR_RDX, r.edx);
	svm_skip_instruction(v, LENGTH_CPUID);
	return SVM_RESUME;
}

static enum svm_exit_action on_hlt(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code;
	svm_skip_instruction(v, LENGTH_HLT);
	exit->kind = VCPU_EXIT_HALT;
	return SVM_REPORT;
}

static enum svm_exit_action on_vmmcall(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	(void)code;
	exit->kind = VCPU_EXIT_HYPERCALL;
	exit->hypercall.nr = svm_gpr_read(v, GPR_RAX);
	exit->hypercall.arg[0] = svm_gpr_read(v, GPR_RDI);
	exit->hypercall.arg[1] = svm_gpr_read(v, GPR_RSI);
	exit->hypercall.arg[2] = svm_gpr_read(v, GPR_RDX);
	exit->hypercall.cpl = v->vmcb->save.cpl;
	v->completion_rip = next_rip(v, LENGTH_VMMCALL);
	return SVM_REPORT;
}

static enum svm_exit_action on_ioio(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	const struct vmcb_control *c = &v->vmcb->control;
	uint64_t info = c->exit_info1;
	struct vcpu_io *io = &v->io;

	(void)code;
	io->port = (uint16_t)(info >> SVM_IOIO_PORT_SHIFT);
	io->size = info & SVM_IOIO_SIZE32 ? 4 : info & SVM_IOIO_SIZE16 ? 2 : 1;
	io->in = info & SVM_IOIO_IN;
	io->string = info & SVM_IOIO_STRING;
	io->rep = info & SVM_IOIO_REP;
	uint64_t mask = (1ull << (8 * io->size)) - 1;
	io->value = io->in || io->string ? 0 : (uint32_t)(svm_gpr_read(v, GPR_RAX) & mask);
	v->completion_rip = c->exit_info2;
	exit->kind = VCPU_EXIT_IO;
	exit->io = *io;
	return SVM_REPORT;
}

static enum svm_exit_action on_msr(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	uint32_t msr = (uint32_t)svm_gpr_read(v, GPR_RCX);
	bool ok;

	(void)code, (void)exit;
	if (v->vmcb->control.exit_info1 & SVM_MSR_EXIT_WRITE) {
		uint64_t value = (svm_gpr_read(v, GPR_RDX) & LOW32) << 32 | (svm_gpr_read(v, GPR_RAX) & LOW32);
		ok = svm_msr_write(v, msr, value);
	} else {
		uint64_t value = 0;
		ok = svm_msr_read(v, msr, &value);
		if (ok) {
			svm_gpr_write(v, GPR_RAX, value & LOW32);
			svm_gpr_write(v, GPR_RDX, value >> 32);
		}
	}
	if (!ok)
		svm_inject_exception(v, VECTOR_GP, true, 0);
	else
		svm_skip_instruction(v, LENGTH_MSR);
	return SVM_RESUME;
}

static const char *access_kind(uint64_t info)
{
	if (info & SVM_NPF_WRITE)
		return "write";
	if (info & SVM_NPF_FETCH)
		return "fetch";
	return "read";
}

static enum svm_exit_action on_npf(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	const struct vmcb_control *c = &v->vmcb->control;
	uint64_t info = c->exit_info1, gpa = c->exit_info2;

	(void)code;
	if ((info & SVM_NPF_PRESENT) && (info & SVM_NPF_WRITE)) {
		switch (npt_wp_fault(&v->npt, gpa)) {
		case NPT_WP_LOGGED:
			return SVM_RESUME;
		case NPT_WP_STALE:
			svm_vcpu_flush_tlb(v);
			return SVM_RESUME;
		case NPT_WP_NOT_TRACKED:
			break;
		}
	}
	return svm_stop(v, exit, "nested page fault at GPA 0x%llx (%s)", (unsigned long long)gpa,
			access_kind(info));
}

static enum svm_exit_action on_cr_write(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	return svm_on_cr_write(v, code - SVM_EXIT_WRITE_CR0, exit);
}

static enum svm_exit_action on_dr_read(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	return svm_on_dr_access(v, code - SVM_EXIT_READ_DR0, false, exit);
}

static enum svm_exit_action on_dr_write(struct vcpu *v, unsigned code, struct vcpu_exit *exit)
{
	return svm_on_dr_access(v, code - SVM_EXIT_WRITE_DR0, true, exit);
}

#define RANGE(first, count) [(first) ... (first) + (count) - 1]

static const exit_handler handlers[SVM_EXIT_CODE_TABLE] = {
	RANGE(SVM_EXIT_WRITE_CR0, SVM_CR_COUNT) = on_cr_write,
	RANGE(SVM_EXIT_READ_DR0, SVM_DR_COUNT) = on_dr_read,
	RANGE(SVM_EXIT_WRITE_DR0, SVM_DR_COUNT) = on_dr_write,
	[SVM_EXIT_INTR] = end_slice,
	[SVM_EXIT_NMI] = resume,
	[SVM_EXIT_SMI] = resume,
	[SVM_EXIT_INIT] = on_init,
	[SVM_EXIT_RDPMC] = on_rdpmc,
	[SVM_EXIT_CPUID] = on_cpuid,
	[SVM_EXIT_INVD] = on_invd,
	[SVM_EXIT_HLT] = on_hlt,
	[SVM_EXIT_INVLPGA] = inject_ud,
	[SVM_EXIT_IOIO] = on_ioio,
	[SVM_EXIT_MSR] = on_msr,
	[SVM_EXIT_SHUTDOWN] = on_shutdown,
	[SVM_EXIT_VMRUN] = inject_ud,
	[SVM_EXIT_VMMCALL] = on_vmmcall,
	[SVM_EXIT_VMLOAD] = inject_ud,
	[SVM_EXIT_VMSAVE] = inject_ud,
	[SVM_EXIT_STGI] = inject_ud,
	[SVM_EXIT_CLGI] = inject_ud,
	[SVM_EXIT_SKINIT] = inject_ud,
	[SVM_EXIT_RDTSCP] = inject_ud,
	[SVM_EXIT_WBINVD] = svm_on_wbinvd,
	[SVM_EXIT_EXCEPTION0 + VECTOR_MC] = on_machine_check,
	[SVM_EXIT_MONITOR] = inject_ud,
	[SVM_EXIT_MWAIT] = inject_ud,
	[SVM_EXIT_MWAIT_ARMED] = inject_ud,
	[SVM_EXIT_XSETBV] = inject_ud,
};

/* Names for `vminfo`; codes of one range share a name and are counted together; the nameless count as "other". */
static const char *const exit_names[SVM_COUNT_SLOTS] = {
	RANGE(SVM_EXIT_READ_CR0, SVM_CR_COUNT) = "cr-read",
	RANGE(SVM_EXIT_WRITE_CR0, SVM_CR_COUNT) = "cr-write",
	RANGE(SVM_EXIT_READ_DR0, SVM_DR_COUNT) = "dr-read",
	RANGE(SVM_EXIT_WRITE_DR0, SVM_DR_COUNT) = "dr-write",
	RANGE(SVM_EXIT_EXCEPTION0, VECTOR_EXCEPTIONS) = "exception",
	[SVM_EXIT_INTR] = "intr", [SVM_EXIT_NMI] = "nmi", [SVM_EXIT_SMI] = "smi",
	[SVM_EXIT_INIT] = "init", [SVM_EXIT_VINTR] = "vintr", [SVM_EXIT_RDTSC] = "rdtsc",
	[SVM_EXIT_RDPMC] = "rdpmc", [SVM_EXIT_CPUID] = "cpuid", [SVM_EXIT_INVD] = "invd",
	[SVM_EXIT_PAUSE] = "pause", [SVM_EXIT_HLT] = "hlt", [SVM_EXIT_INVLPGA] = "invlpga",
	[SVM_EXIT_IOIO] = "io", [SVM_EXIT_MSR] = "msr", [SVM_EXIT_TASK_SWITCH] = "task-switch",
	[SVM_EXIT_SHUTDOWN] = "shutdown", [SVM_EXIT_VMRUN] = "vmrun", [SVM_EXIT_VMMCALL] = "vmmcall",
	[SVM_EXIT_VMLOAD] = "vmload", [SVM_EXIT_VMSAVE] = "vmsave", [SVM_EXIT_STGI] = "stgi",
	[SVM_EXIT_CLGI] = "clgi", [SVM_EXIT_SKINIT] = "skinit", [SVM_EXIT_RDTSCP] = "rdtscp",
	[SVM_EXIT_WBINVD] = "wbinvd",
	[SVM_EXIT_MONITOR] = "monitor", [SVM_EXIT_MWAIT] = "mwait", [SVM_EXIT_MWAIT_ARMED] = "mwait-armed",
	[SVM_EXIT_XSETBV] = "xsetbv", [SVM_COUNT_NPF] = "npf", [SVM_COUNT_VMRUN_FAILED] = "vmrun-failed",
};

uint64_t svm_vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			      void *ctx)
{
	uint64_t other = 0, all = 0;

	for (unsigned i = 0; i < SVM_COUNT_SLOTS;) {
		const char *name = exit_names[i];
		if (!name) {
			other += v->exit_counts[i++];
			continue;
		}
		uint64_t total = 0;
		for (; i < SVM_COUNT_SLOTS && exit_names[i] == name; i++)   /* a range counts once */
			total += v->exit_counts[i];
		if (total && fn)
			fn(name, total, ctx);
		all += total;
	}
	if (other && fn)
		fn("other", other, ctx);
	return all + other;
}

/* ---- the run loop ------------------------------------------------------------------------------ */

/* An event whose delivery the exit interrupted is delivered again (15.20); a software one reruns its instruction. */
static void reinject_interrupted_event(struct vmcb_control *c)
{
	uint32_t error, info = svm_intr_info_from_event(c->exit_int_info, c->exit_int_info_error, &error);

	c->event_inj = svm_event_from_intr_info(info, error, &c->event_inj_error);
}

static enum svm_exit_action dispatch(struct vcpu *v, struct vcpu_exit *exit)
{
	struct vmcb_control *c = &v->vmcb->control;
	uint64_t code = c->exit_code;

	if ((uint32_t)code == SVM_EXIT_INVALID_LOW32) {
		v->exit_counts[SVM_COUNT_VMRUN_FAILED]++;
		dump_guest(v);
		return svm_stop(v, exit, "VMRUN failed: the VMCB holds an invalid guest state");
	}
	reinject_interrupted_event(c);
	if (code < SVM_EXIT_CODE_TABLE) {
		v->exit_counts[code]++;
		if (handlers[code])
			return handlers[code](v, (unsigned)code, exit);
	} else if (code == SVM_EXIT_NPF) {
		v->exit_counts[SVM_COUNT_NPF]++;
		return on_npf(v, (unsigned)code, exit);
	} else {
		v->exit_counts[SVM_COUNT_OTHER]++;
	}
	dump_guest(v);
	return svm_stop(v, exit, "unhandled SVM exit 0x%llx, exitinfo1 0x%llx", (unsigned long long)code,
			(unsigned long long)c->exit_info1);
}

void svm_vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *exit)
{
	uint64_t host_save = svm_host()->host_save_phys;
	struct vmcb_control *c = &v->vmcb->control;

	svm_vcpu_load_fpu(v);
	svm_timer_arm(deadline_tsc);
	for (;;) {
		if (rdtsc() >= deadline_tsc) {
			exit->kind = VCPU_EXIT_SLICE_END;
			break;
		}
		c->tlb_control = svm_asids_shared() ? svm_tlb_flush_command() : v->tlb_control;
		svm_clgi();
		spec_hw_enter(&v->spec, v);
		svm_enter(v->vmcb_phys, host_save, v->gpr);
		spec_hw_exit(&v->spec);
		svm_stgi();   /* a host NMI the intercept held is taken here (arch/x86/trap.c) */
		c->tlb_control = SVM_TLB_NOTHING;
		v->tlb_control = SVM_TLB_NOTHING;
		if (dispatch(v, exit) == SVM_REPORT)
			break;
	}
	svm_timer_disarm();
}

void svm_vcpu_complete_io(struct vcpu *v, uint32_t value)
{
	const struct vcpu_io *io = &v->io;

	if (io->string) {
		if (io->rep)
			svm_gpr_write(v, GPR_RCX, 0);   /* INS/OUTS are skipped; a REP prefix completes at once */
	} else if (io->in) {
		uint64_t rax = svm_gpr_read(v, GPR_RAX);
		if (io->size == 4) {
			rax = value;   /* a 32-bit destination zero-extends */
		} else {
			uint64_t mask = (1ull << (8 * io->size)) - 1;
			rax = (rax & ~mask) | (value & mask);
		}
		svm_gpr_write(v, GPR_RAX, rax);
	}
	svm_set_rip(v, v->completion_rip);
}

void svm_vcpu_complete_hypercall(struct vcpu *v, uint64_t result)
{
	svm_gpr_write(v, GPR_RAX, result);
	svm_set_rip(v, v->completion_rip);
}
