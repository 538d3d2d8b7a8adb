/*
 * The architectural state of one x86-64 guest CPU as data: the register file a
 * backend loads and saves (arch/x86/vcpu.h), the saved-state codec carries
 * (kernel/vm/snapshot.h) and `vminfo` prints, and the checks a state must pass
 * before any backend loads it.
 *
 * Formats are those of arch/x86/x86.h: segment access rights, pending events,
 * interruptibility and activity as the VMCS holds them (SDM Vol. 3C 24.4); the
 * AMD-V backend converts to and from the VMCB's own. CR0 and CR4 are the values
 * the guest sees, whatever a backend keeps in the hardware underneath.
 *
 * x86_cpu_state_validate() accepts only a state that VM entry would accept (SDM
 * Vol. 3C 26.3.1: control registers against the fixed bits, reserved bits,
 * canonical addresses, segment access rights consistent with the mode, pending
 * events) and that stays inside Ferry's policy (the CR4 bits and MXCSR bits this
 * host lets a guest use). It never touches a CPU.
 *
 * Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_CPU_STATE_H
#define FERRY_ARCH_X86_CPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/x86.h"

/* Segment registers in the VMCS's order (SDM Vol. 3C appendix B: ES CS SS DS FS GS LDTR TR). */
enum x86_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

struct x86_segment {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;
	uint32_t access;   /* AR_* of x86.h; AR_UNUSABLE for an unusable segment */
};

#define SEG_LIMIT_4G 0xffffffffu   /* a flat segment's limit in bytes */

/* Access rights of a flat 64-bit setup (AR_* format, DPL 0): code, data, busy TSS. */
#define X86_CODE64_ACCESS (SEG_TYPE_CODE_XR_ACCESSED | AR_S | AR_P | AR_L | AR_G)
#define X86_DATA_ACCESS   (SEG_TYPE_DATA_RW_ACCESSED | AR_S | AR_P | AR_DB | AR_G)
#define X86_TSS64_ACCESS  (SYS_TYPE_TSS64_BUSY | AR_P)

struct x86_cpu_state {
	uint64_t gpr[GPR_COUNT];   /* GPR_* order (x86.h); RSP as the guest sees it */
	uint64_t rip, rflags;
	uint64_t cr0, cr3, cr4;    /* as the guest sees CR0 and CR4 (the read shadows) */
	uint64_t cr2, dr7, dr[4], dr6;   /* DR0-3 and DR6 are emulated, never loaded into the CPU */
	uint64_t pdpte[4];         /* PAE paging outside long mode: VM entry loads these, not CR3 */
	struct x86_segment seg[SEG_COUNT];
	uint64_t gdtr_base, idtr_base;
	uint32_t gdtr_limit, idtr_limit;
	uint64_t efer, pat, debugctl;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t spec_ctrl;        /* IA32_SPEC_CTRL as the guest set it (arch/x86/spec_ctrl.h) */
	uint8_t fxsave[FXSAVE_BYTES];
	uint32_t interruptibility, activity;   /* INTERRUPTIBILITY_*, ACTIVITY_* */
	uint64_t pending_debug;
	uint32_t pending_event;    /* INTR_INFO_* format (external interrupt, NMI or hardware exception); 0 for none */
	uint32_t pending_error;
};

/* What a host accepts: its backend's fixed bits and Ferry's policy (vcpu_state_limits()). */
struct x86_state_limits {
	uint64_t cr0_fixed0, cr0_fixed1;   /* CR0 bits that must be 1 / may be 1 while a guest runs */
	uint64_t cr4_fixed0, cr4_fixed1;
	uint64_t cr0_guest_owned_ok;  /* fixed0 bits the guest may still clear (PE, PG with unrestricted guest) */
	uint64_t cr4_allowed;         /* CR4 bits a guest may set */
	uint32_t phys_bits;           /* MAXPHYADDR */
	uint32_t mxcsr_mask;
	struct cpu_features host;     /* what this host can offer a guest (the snapshot's CPUID check) */
	uint32_t vendor;              /* enum vcpu_vendor (arch/x86/vcpu.h): a snapshot from another is refused */
	uint64_t tsc_hz;              /* this host's TSC rate: a snapshot told another is refused */
};

/*
 * A valid flat 64-bit state: paging and long mode on (CR0 PE, NE, PG; CR4 PAE;
 * EFER LME, LMA) with CR3 0; CS a 64-bit code segment at selector 0x08, the data
 * segments flat at 0x10, a busy 64-bit TSS at 0x18 (the usual GDT layout: null,
 * code, data, TSS), LDTR unusable; the architectural defaults (RFLAGS bit 1, DR7,
 * PAT, FCW, MXCSR); everything else 0. What a backend holds until the VM layer
 * loads a state, and where a loader's entry state starts.
 */
void x86_cpu_state_flat64(struct x86_cpu_state *s);

/*
 * How a loader starts a guest in 64-bit mode: the registers it hands over, the
 * control registers, and the GDT and TSS it built in guest RAM (their selectors and
 * access rights in the AR_* format; DS's also serve ES, SS, FS and GS).
 */
struct x86_entry_state {
	uint64_t rip, rsp, rsi, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint32_t gdt_limit;
	uint64_t tr_base;
	uint32_t tr_limit;
	uint16_t cs_selector, ds_selector, tr_selector;
	uint32_t cs_access, ds_access, tr_access;
};

/*
 * The whole register file of an entry state: x86_cpu_state_flat64() with the entry's
 * registers, control registers and descriptor tables, flat segments at its selectors,
 * LDTR unusable. What the VM layer loads into the vCPU (vcpu_set_state).
 */
void x86_entry_cpu_state(const struct x86_entry_state *e, struct x86_cpu_state *out);

/* True when addr is canonical under 4-level paging (bits 63:47 all equal). */
bool x86_canonical(uint64_t addr);

/* True when every entry of an IA32_PAT value is a defined memory type (SDM Vol. 3A 11.12.2). */
bool x86_pat_valid(uint64_t pat);

/* The MXCSR value inside the FXSAVE image. */
uint32_t x86_mxcsr(const struct x86_cpu_state *s);

/*
 * A code, data or system segment descriptor (SDM Vol. 3A 3.4.5, figure 3-8) from
 * a 32-bit base, a 20-bit limit and access rights in the AR_* format: limit 15:0
 * in bits 15:0, base 23:0 in 39:16, the access byte in 47:40, limit 19:16 in
 * 51:48, the AVL/L/D/G flags (AR bits 15:12) in 55:52, base 31:24 in 63:56. A
 * 64-bit system descriptor (TSS, LDT) takes a second slot holding base 63:32.
 */
static inline uint64_t x86_segment_descriptor(uint32_t base, uint32_t limit, uint32_t access)
{
	return (limit & DESC_LIMIT_LOW) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)(access & 0xff) << DESC_ACCESS_SHIFT | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)((access >> 12) & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

/*
 * Checks every field of s against lim (the CPU part of a snapshot's checks):
 * FERR_OK, or FERR_INVAL with *why naming the first value VM entry or Ferry's
 * policy would refuse.
 */
int x86_cpu_state_validate(const struct x86_cpu_state *s, const struct x86_state_limits *lim,
			   const char **why);

#endif
