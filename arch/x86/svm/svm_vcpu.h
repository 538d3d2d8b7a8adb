/*
 * One SVM guest CPU (struct vcpu of arch/x86/vcpu.h, as the AMD-V backend keeps
 * it): its VMCB, what the VMCB does not hold (the GPRs but RAX and RSP, the
 * FXSAVE image, the emulated DR0-3 and DR6), its nested page tables and their
 * dirty tracking, and the exit being completed. Shared by the files of
 * arch/x86/svm/ that run a guest: vcpu.c (creation and state), exit.c (the run
 * loop and the exit table), ctlreg.c (CR and DR intercepts), msr.c (MSRs).
 *
 * Image only; internal to arch/x86/svm/.
 */
#ifndef FERRY_ARCH_X86_SVM_SVM_VCPU_H
#define FERRY_ARCH_X86_SVM_SVM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"
#include "arch/x86/spec_ctrl.h"
#include "arch/x86/svm/npt.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/vcpu.h"

/* Exit counters: one per exit code below SVM_EXIT_CODE_TABLE, then these. */
enum svm_exit_count {
	SVM_COUNT_NPF = SVM_EXIT_CODE_TABLE,
	SVM_COUNT_VMRUN_FAILED,
	SVM_COUNT_OTHER,
	SVM_COUNT_SLOTS,
};

enum svm_dirty_mode { SVM_DIRTY_AD, SVM_DIRTY_WP };

struct vcpu {
	const char *name;            /* the guest's, for dumps */
	struct vmcb *vmcb;
	uint64_t vmcb_phys;
	uint64_t gpr[GPR_COUNT];     /* GPR_* order; RAX and RSP live in the VMCB */
	uint8_t fxsave[FXSAVE_BYTES] __attribute__((aligned(16)));
	uint64_t dr[4], dr6;         /* emulated: never loaded into the CPU */
	struct spec_guest spec;      /* IA32_SPEC_CTRL as the guest set it (switched around each VMRUN) */
	struct frame_owner *owner;
	const struct cpu_features *cpuid;
	uint64_t ram_phys, ram_bytes;

	struct npt npt;
	uint64_t npt_phys, npt_frames;
	enum svm_dirty_mode dirty_mode;
	bool dirty_logging;
	uint64_t wp_log_phys, wp_log_frames;   /* npt-wp's log, while logging */

	uint8_t tlb_control;         /* for the next VMRUN: SVM_TLB_* */
	uint64_t completion_rip;     /* the end of the instruction the VM layer is completing */
	struct vcpu_io io;           /* the last VCPU_EXIT_IO */
	uint64_t exit_counts[SVM_COUNT_SLOTS];
};

/* What a handler tells the run loop. */
enum svm_exit_action {
	SVM_RESUME,   /* settled: enter the guest again */
	SVM_REPORT,   /* *exit is filled: return it to the VM layer */
};

/* The seam's per-vCPU calls (arch/x86/vcpu.h), for svm_backend: vcpu.c ... */
int svm_vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why);
void svm_vcpu_destroy(struct vcpu *v);
void svm_vcpu_get_state(struct vcpu *v, struct x86_cpu_state *out);
void svm_vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s);
uint64_t svm_vcpu_guest_tsc(struct vcpu *v);
void svm_vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc);
uint64_t svm_vcpu_table_frames(struct vcpu *v);
const char *svm_vcpu_dirty_mode(struct vcpu *v);
int svm_vcpu_dirty_start(struct vcpu *v);
long svm_vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap);
void svm_vcpu_dirty_stop(struct vcpu *v);
/* ... and exit.c. */
void svm_vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *exit);
void svm_vcpu_complete_io(struct vcpu *v, uint32_t value);
void svm_vcpu_complete_hypercall(struct vcpu *v, uint64_t result);
uint64_t svm_vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			      void *ctx);

/* Loads v's FXSAVE image into the FPU unless it is there (Ferry itself uses none). */
void svm_vcpu_load_fpu(struct vcpu *v);
/* The next VMRUN flushes this guest's TLB (after a change to its NPT or paging). */
void svm_vcpu_flush_tlb(struct vcpu *v);

/* A general-purpose register by GPR_* number (RAX and RSP from the VMCB). */
uint64_t svm_gpr_read(const struct vcpu *v, unsigned gpr);
void svm_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value);

/* Sets RIP after an emulated instruction, which also ends an STI or MOV SS shadow. */
void svm_set_rip(struct vcpu *v, uint64_t rip);
/* Moves RIP past an instruction of `length` bytes (or to NRIP when the CPU saved it). */
void svm_skip_instruction(struct vcpu *v, unsigned length);
/* Injects a hardware exception at the next VMRUN; RIP stays on the instruction. */
void svm_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error);
/* Stops the guest: fills *exit with VCPU_EXIT_STOP and the formatted reason. */
enum svm_exit_action svm_stop(struct vcpu *v, struct vcpu_exit *exit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* MSR intercepts (msr.c): false means #GP. */
bool svm_msr_read(struct vcpu *v, uint32_t msr, uint64_t *value);
bool svm_msr_write(struct vcpu *v, uint32_t msr, uint64_t value);

/* The bytes of the instruction at the guest's CS:RIP, through its page tables (ctlreg.c); 0 when none. */
unsigned svm_fetch_at_rip(const struct vcpu *v, uint8_t *bytes, unsigned max);

/* Side channels and native events (spec.c): a machine check that ended the run; WBINVD. */
enum svm_exit_action svm_on_machine_check(struct vcpu *v, struct vcpu_exit *exit);
enum svm_exit_action svm_on_wbinvd(struct vcpu *v, unsigned code, struct vcpu_exit *exit);

/* CR and DR intercepts (ctlreg.c), by exit code. */
enum svm_exit_action svm_on_cr_write(struct vcpu *v, unsigned cr, struct vcpu_exit *exit);
enum svm_exit_action svm_on_dr_access(struct vcpu *v, unsigned dr, bool write, struct vcpu_exit *exit);

/* The guest's EFER as it sees it (without SVME, which VMRUN requires of every guest). */
uint64_t svm_guest_efer(const struct vcpu *v);
/* Sets the guest's EFER from the value it sees, keeping LMA in step with LME and CR0.PG. */
void svm_set_guest_efer(struct vcpu *v, uint64_t efer);

#endif
