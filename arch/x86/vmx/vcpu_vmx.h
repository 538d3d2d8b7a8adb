/*
 * The VT-x backend's struct vcpu and what its files share: the current VMCS
 * (vmcs.c), the VMCS set-up and state transfer (vcpu.c), the run loop and exit
 * table (exit.c), what every handler uses on the guest (guest.c: registers, RIP,
 * exceptions), the exits the VM layer finishes (io.c: I/O and VMCALL), MSR
 * emulation (msr.c), control and debug registers with the long-mode toggle
 * (cr.c), and dirty tracking (dirty.c). Only
 * arch/x86/vmx/ includes it; everyone else sees struct vcpu as opaque
 * (arch/x86/vcpu.h). Image only.
 *
 * Every function here works on the current VMCS: the run loop makes v's current
 * (vmx_vcpu_load) before an exit handler runs, and each entry point of vcpu.c and
 * dirty.c loads it itself.
 */
#ifndef FERRY_ARCH_X86_VMX_VCPU_VMX_H
#define FERRY_ARCH_X86_VMX_VCPU_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/spec_ctrl.h"
#include "arch/x86/vcpu.h"
#include "arch/x86/vmx/ept.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/x86.h"

/* The I/O instruction of the last VCPU_EXIT_IO, for vcpu_complete_io. */
struct vmx_pending_io {
	uint8_t size;
	bool in, string, rep;
};

/* Dirty logging: PML where the CPU has it (dirty.c). */
struct vmx_dirty {
	bool logging;
	uint64_t pml_phys;               /* the 512-entry log, 0 without PML */
	uint64_t *pending;               /* pages PML logged before a collect asked (PML-full exits) */
	uint64_t pending_phys, bitmap_frames;
};

struct vcpu {
	uint64_t gpr[GPR_COUNT];    /* GPR_* order; RSP lives in the VMCS */
	uint8_t fxsave[FXSAVE_BYTES] __attribute__((aligned(16)));
	uint64_t cr2, dr[4], dr6;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	struct spec_guest spec;     /* IA32_SPEC_CTRL as the guest set it (switched around each entry) */
	uint64_t self_phys;         /* the frame this struct lives in */
	uint64_t vmcs_phys;
	uint64_t eptp;
	uint64_t tsc_offset;        /* guest TSC = host TSC + tsc_offset */
	uint32_t proc2;             /* secondary controls now in the VMCS (PML toggles) */
	uint32_t entry;             /* VM-entry controls now in the VMCS (IA-32e mode toggles) */
	uint16_t vpid;
	bool launched;

	const char *name;                  /* the guest's, for dumps */
	const struct cpu_features *cpuid;  /* the mask CPUID answers with */
	struct frame_owner *owner;
	uint64_t ram_bytes;
	struct ept ept;
	uint64_t ept_phys;
	struct vmx_dirty dirty;
	struct vmx_pending_io io;

	uint64_t exits_total;
	uint64_t exit_counts[EXIT_REASON_COUNT];
	uint64_t exits_other;       /* reasons beyond the table */
};

/* What an exit handler wants next: enter the guest again, or return from vcpu_run with *out filled. */
enum exit_action { EXIT_RESUME, EXIT_REPORT };

struct exit_ctx {
	struct vcpu *v;
	struct vcpu_exit *out;
	uint64_t qualification;
};

typedef enum exit_action (*exit_handler)(struct exit_ctx *x);

/* ---- vcpu.c -------------------------------------------------------------------------- */
/* Makes v's VMCS current (VMPTRLD when another one is). */
void vmx_vcpu_load(struct vcpu *v);
/* vmcs.c: VMPTRLD and VMCLEAR, keeping track of the current VMCS. */
void vmx_vmptrld(uint64_t phys);
void vmx_vmclear(uint64_t phys);
/* Switches the FPU and the MSRs VMX does not switch to this vcpu (before entry). */
void vmx_vcpu_switch_to(struct vcpu *v);
int vmx_vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why);
void vmx_vcpu_destroy(struct vcpu *v);
void vmx_vcpu_get_state(struct vcpu *v, struct x86_cpu_state *out);
void vmx_vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s);
uint64_t vmx_vcpu_guest_tsc(struct vcpu *v);
void vmx_vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc);
uint64_t vmx_vcpu_table_frames(struct vcpu *v);

/* ---- exit.c: the run loop and what every handler uses -------------------------------- */
void vmx_vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *out);
uint64_t vmx_vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			      void *ctx);
/* Moves RIP past the exiting instruction (and ends STI/MOV-SS blocking, as executing it would). */
void vmx_skip_instruction(void);
/* Injects #UD or #GP(0) on the next entry; the instruction does not complete. */
enum exit_action vmx_inject_ud(struct exit_ctx *x);
enum exit_action vmx_inject_gp(void);
/* General-purpose register i as the guest sees it (RSP is in the VMCS). */
uint64_t vmx_gpr_read(struct vcpu *v, unsigned i);
void vmx_gpr_write(struct vcpu *v, unsigned i, uint64_t value);

/* ---- io.c: exits the VM layer finishes ----------------------------------------------- */
enum exit_action vmx_on_io(struct exit_ctx *x);
enum exit_action vmx_on_vmcall(struct exit_ctx *x);
void vmx_vcpu_complete_io(struct vcpu *v, uint32_t value);
void vmx_vcpu_complete_hypercall(struct vcpu *v, uint64_t result);

/* ---- msr.c --------------------------------------------------------------------------- */
enum exit_action vmx_on_rdmsr(struct exit_ctx *x);
enum exit_action vmx_on_wrmsr(struct exit_ctx *x);

/* ---- cr.c ---------------------------------------------------------------------------- */
/* The CR0/CR4 values the hardware runs with for what the guest sees (VMX fixed bits applied). */
uint64_t vmx_cr0_real(uint64_t visible);
uint64_t vmx_cr4_real(uint64_t visible);
/* The guest/host masks: bits Ferry owns (reads see the shadow, writes exit). */
uint64_t vmx_cr0_host_owned(void);
uint64_t vmx_cr4_host_owned(void);
/* Writes the guest's EFER and sets the IA-32e-mode entry control from its LMA. */
void vmx_set_efer(struct vcpu *v, uint64_t efer);
/* The same after a change of EFER.LME or CR0.PG: LMA = LME and paging (SDM Vol. 3A 9.8.5). */
void vmx_update_long_mode(struct vcpu *v, uint64_t efer, bool paging);
enum exit_action vmx_on_cr_access(struct exit_ctx *x);
enum exit_action vmx_on_dr_access(struct exit_ctx *x);

/* ---- spec.c: side channels and native events ---------------------------------------- */
/* Exit reason 0: a host NMI (handed to Ferry's handler) or a machine check (never the guest's). */
enum exit_action vmx_on_exception_nmi(struct exit_ctx *x);
/* A machine check that ended the guest's run: stop the guest or panic (arch/x86/mce.h). */
enum exit_action vmx_on_machine_check(struct exit_ctx *x);
/* WBINVD/WBNOINVD: skipped (nothing writes guest memory behind the caches). */
enum exit_action vmx_on_wbinvd(struct exit_ctx *x);

/* ---- dirty.c ------------------------------------------------------------------------- */
/* Takes the PML page when the CPU has PML; FERR_NOMEM. */
int vmx_dirty_init(struct vcpu *v);
/* Points the (current, new) VMCS at the PML page. */
void vmx_dirty_attach(struct vcpu *v);
/* Returns the PML page and the pending bitmap. */
void vmx_dirty_release(struct vcpu *v);
enum exit_action vmx_on_pml_full(struct exit_ctx *x);
const char *vmx_vcpu_dirty_mode(struct vcpu *v);
int vmx_vcpu_dirty_start(struct vcpu *v);
long vmx_vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap);
void vmx_vcpu_dirty_stop(struct vcpu *v);

#endif
