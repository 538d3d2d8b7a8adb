/*
 * The vendor-neutral vCPU: everything kernel/vm/ asks of a CPU virtualization
 * backend, VT-x (arch/x86/vmx/) or AMD-V (arch/x86/svm/). One struct vcpu is one
 * guest CPU together with its second-level page tables (EPT or NPT) over the
 * guest's RAM and their dirty tracking.
 *
 * Calls run one way: kernel/vm/ calls down through this header; a backend never
 * calls back up. vcpu_run() runs the guest until something happens that the VM
 * layer must see (its devices, its hypercalls, a halt, the end of the slice, a
 * reason to stop the guest) and describes it in struct vcpu_exit; everything a
 * backend can settle alone (CPUID, control and debug registers, MSRs, EPT/NPT
 * bookkeeping, PML-full, host interrupts, re-injecting an interrupted event) it
 * settles inside vcpu_run().
 *
 * A guest with Ferry's Linux platform (vcpu_set_platform) has interrupt controllers
 * and devices in the VM layer (kernel/vdev/): the backend then also reports loads and
 * stores outside guest RAM (decoded here, performed there), the MSRs of the local APIC,
 * and the moment the guest can take an interrupt, and it injects the interrupts the VM
 * layer chooses. The VM layer decides when a halted vCPU runs again and how long a slice
 * lasts (the earlier of its end and the guest's next timer deadline: deadline_tsc).
 *
 * arch/x86/vcpu.c picks the backend once, at vcpu_hw_init(), from the CPU vendor
 * (arch/x86/vcpu_backend.h); every other call goes to that backend and is valid
 * only after vcpu_hw_init() succeeded. One CPU runs every vCPU (Ferry's boot CPU).
 * Image only (the state and limit types are portable: arch/x86/cpu_state.h).
 */
#ifndef FERRY_ARCH_X86_VCPU_H
#define FERRY_ARCH_X86_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/cpu_state.h"
#include "kernel/frame_alloc.h"

struct vcpu;   /* the backend's own; kernel/vm/ holds a pointer */

/* ---- the host ------------------------------------------------------------------------ */

enum vcpu_vendor { VCPU_VENDOR_NONE, VCPU_VENDOR_INTEL, VCPU_VENDOR_AMD };

/* One yes/no capability for `info` ("vmx", "ept", "pml"...). */
struct vcpu_capability {
	const char *key;
	bool present;
};

/*
 * Probes the CPU and turns virtualization on (VMXON, or EFER.SVME with the host
 * save area). FERR_NOTSUP with *why naming what is missing (the CPU feature, the
 * firmware setting that disables it, or a backend Ferry does not have yet) when
 * guests cannot run here.
 */
int vcpu_hw_init(const char **why);
bool vcpu_hw_ready(void);
enum vcpu_vendor vcpu_hw_vendor(void);
const char *vcpu_vendor_name(enum vcpu_vendor vendor);   /* "intel", "amd", "none" */
/* The backend's short name for log lines: "vmx" or "svm" (also before or without vcpu_hw_init). */
const char *vcpu_hw_name(void);
/*
 * The capabilities `info` prints for this host's backend, in a stable order;
 * valid whether or not vcpu_hw_init() succeeded (a CPU without the feature says
 * "no" to all). Returns how many; *list stays valid until the next call.
 */
unsigned vcpu_hw_capabilities(const struct vcpu_capability **list);
/* A line for the log describing the controls chosen (control words, dirty mode...). */
void vcpu_hw_describe(char *buf, size_t cap);
/* What a saved state must satisfy to be loaded on this host (x86_cpu_state_validate). */
void vcpu_state_limits(struct x86_state_limits *out);

/* ---- one vCPU ------------------------------------------------------------------------ */

struct vcpu_config {
	struct frame_owner *owner;            /* every frame the vCPU and its tables take */
	uint64_t ram_phys, ram_bytes;         /* guest RAM: one host run mapped at GPA 0 */
	const struct cpu_features *cpuid;     /* the mask the guest sees; must outlive the vcpu */
	const char *name;                     /* the guest's, for the backend's dumps; must outlive it */
	unsigned slot;                        /* 0..VM_MAX-1: picks the VPID or ASID */
};

/*
 * Builds the second-level tables over guest RAM and the VMCS or VMCB, with a
 * valid placeholder state (x86_cpu_state_flat64) until vcpu_set_state(). The
 * vCPU itself takes frames of cfg->owner too. FERR_NOMEM (or another ferry_err)
 * with *why on failure; nothing is left allocated then.
 */
int vcpu_create(const struct vcpu_config *cfg, struct vcpu **out, const char **why);
/* Returns every frame the vCPU took; v may be NULL. */
void vcpu_destroy(struct vcpu *v);

/* The whole architectural state, in the portable format of cpu_state.h. */
void vcpu_get_state(struct vcpu *v, struct x86_cpu_state *out);
/* Loads a state that x86_cpu_state_validate() accepted against vcpu_state_limits(). */
void vcpu_set_state(struct vcpu *v, const struct x86_cpu_state *s);

/* The guest's TSC (host TSC plus the offset); setting it moves the offset. */
uint64_t vcpu_guest_tsc(struct vcpu *v);
void vcpu_set_guest_tsc(struct vcpu *v, uint64_t guest_tsc);

/* Frames the second-level tables use (`vminfo`'s ept_tables). */
uint64_t vcpu_table_frames(struct vcpu *v);

/*
 * Gives v the Linux platform (p->lapic) or takes it away (NULL, or !p->lapic: what a
 * vCPU starts with). With it: CPUID shows the local APIC, TSC-deadline, ARAT and the
 * TSC leaves (cpu_features.h); an access to guest-physical memory outside RAM is
 * decoded (arch/x86/mmio_access.h) and reported as VCPU_EXIT_MMIO, or stops the guest
 * with the reason the decoder gives; RDMSR/WRMSR of IA32_APIC_BASE and
 * IA32_TSC_DEADLINE are reported as VCPU_EXIT_MSR (the x2APIC MSRs stay #GP, as on a
 * CPU without x2APIC). Without it such an access stops the guest as before. *p is copied.
 */
void vcpu_set_platform(struct vcpu *v, const struct cpuid_platform *p);

/* ---- running ------------------------------------------------------------------------- */

#define VCPU_STOP_REASON_MAX 120

enum vcpu_exit_kind {
	VCPU_EXIT_SLICE_END,   /* the slice ran out, or a host event wants the CPU: run others */
	VCPU_EXIT_HALT,        /* HLT executed (RIP is past it): nothing to do until an event */
	VCPU_EXIT_IO,          /* port I/O for the VM layer's devices: finish with vcpu_complete_io */
	VCPU_EXIT_HYPERCALL,   /* VMCALL/VMMCALL: finish with vcpu_complete_hypercall */
	VCPU_EXIT_STOP,        /* the guest cannot go on; stop_reason says why (it never runs again) */
	VCPU_EXIT_MMIO,        /* platform: a load or store outside RAM: finish with vcpu_complete_mmio */
	VCPU_EXIT_MSR,         /* platform: RDMSR/WRMSR of a local APIC MSR: finish with vcpu_complete_msr */
	VCPU_EXIT_INTERRUPT_WINDOW,   /* the guest can take an interrupt now (vcpu_request_interrupt_window) */
};

struct vcpu_io {
	uint16_t port;
	uint8_t size;          /* 1, 2 or 4 bytes */
	bool in;
	bool string;           /* INS/OUTS; rep: with a REP prefix */
	bool rep;
	uint32_t value;        /* OUT: the value written (low `size` bytes) */
};

struct vcpu_hypercall {
	uint64_t nr, arg[3];   /* RAX; RDI, RSI, RDX */
	unsigned cpl;          /* the guest's privilege level at the call */
};

/* A decoded load or store (arch/x86/mmio_decode.h's whitelist) at a guest-physical address. */
struct vcpu_mmio {
	uint64_t gpa;
	uint8_t size;          /* 1, 2, 4 or 8 bytes */
	bool write;
	uint64_t value;        /* a store: the value written (low `size` bytes) */
};

struct vcpu_msr {
	uint32_t msr;
	bool write;
	uint64_t value;        /* WRMSR: EDX:EAX */
};

struct vcpu_exit {
	enum vcpu_exit_kind kind;
	union {
		struct vcpu_io io;
		struct vcpu_hypercall hypercall;
		struct vcpu_mmio mmio;
		struct vcpu_msr msr;
		char stop_reason[VCPU_STOP_REASON_MAX];   /* "triple fault", "EPT violation at GPA 0x... (write)" */
	};
};

/*
 * Runs the guest until an exit the VM layer must see, or until the host TSC
 * reaches deadline_tsc (then VCPU_EXIT_SLICE_END). Switches the FPU and the MSRs
 * the hardware does not switch as needed. Before a VCPU_EXIT_STOP caused by
 * something the backend did not expect (an unhandled exit, a failed entry) the
 * backend prints a register dump, each line starting "guest NAME: ".
 */
void vcpu_run(struct vcpu *v, uint64_t deadline_tsc, struct vcpu_exit *exit);

/*
 * Completes the I/O instruction of the last VCPU_EXIT_IO: for IN, value goes
 * into AL/AX/EAX as the instruction would put it; a string instruction is
 * skipped (with REP, RCX becomes 0). RIP moves past the instruction.
 */
void vcpu_complete_io(struct vcpu *v, uint32_t value);
/* Completes the last VCPU_EXIT_HYPERCALL: RAX = result, RIP past the instruction. */
void vcpu_complete_hypercall(struct vcpu *v, uint64_t result);
/* Completes the last VCPU_EXIT_MMIO: a load puts value (its low `size` bytes) into its
 * register as the instruction would; RIP moves past the instruction. */
void vcpu_complete_mmio(struct vcpu *v, uint64_t value);
/* Completes the last VCPU_EXIT_MSR: RDMSR returns value in EDX:EAX; ok false raises
 * #GP(0) instead (the instruction does not complete). */
void vcpu_complete_msr(struct vcpu *v, bool ok, uint64_t value);

/* ---- interrupts (the Linux platform) --------------------------------------------------- */

/*
 * True when an external interrupt can be injected before the next instruction: RFLAGS.IF
 * set, no STI or MOV-SS shadow, and no event already waiting to be delivered.
 */
bool vcpu_interruptible(struct vcpu *v);
/* Delivers vector (32-255) as an external interrupt at the next entry; only when
 * vcpu_interruptible(). */
void vcpu_inject_interrupt(struct vcpu *v, uint8_t vector);
/* Delivers an NMI at the next entry when nothing blocks one (no event waiting, no NMI
 * being handled where the CPU tracks that); returns false when it must wait. */
bool vcpu_inject_nmi(struct vcpu *v);
/* One VCPU_EXIT_INTERRUPT_WINDOW as soon as the guest can take an interrupt (VT-x
 * interrupt-window exiting, AMD-V V_IRQ with the VINTR intercept), or no longer. */
void vcpu_request_interrupt_window(struct vcpu *v, bool on);

/*
 * Exits so far by the backend's reason names, for `vminfo`: fn (may be NULL) is
 * called for each nonzero count in the backend's order. Returns the total.
 */
uint64_t vcpu_exit_counts(struct vcpu *v, void (*fn)(const char *reason, uint64_t count, void *ctx),
			  void *ctx);

/* ---- dirty tracking (live migration, the `dirty` command) ---------------------------- */

/* "pml" or "ept-ad" on VT-x; "npt-ad" or "npt-wp" on AMD-V. */
const char *vcpu_dirty_mode(struct vcpu *v);
/*
 * start: forgets every earlier write (clears the dirty records, flushes the
 * translations), so that collect reports only later ones; FERR_NOTSUP when the
 * CPU cannot track writes, FERR_NOMEM. collect: ORs the pages written since the
 * previous start or collect into bitmap (bit i = guest page i; sized for
 * ram_bytes), clears them and flushes; returns how many pages were newly set in
 * bitmap, or FERR_BUSY when not logging. stop: ends logging.
 */
int vcpu_dirty_start(struct vcpu *v);
long vcpu_dirty_collect(struct vcpu *v, uint64_t *bitmap);
void vcpu_dirty_stop(struct vcpu *v);

#endif
