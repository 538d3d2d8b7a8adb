/*
 * A guest's state but its RAM, as data, and its wire format: what
 * vm_state_save() writes and vm_state_load() reads (kernel/vm/vm.h).
 *
 * Format (little-endian): a header {magic "FRYS" u32, format version u16,
 * section count u16}, then sections {tag u32, version u16, reserved u16 = 0,
 * payload length u32, payload}. Each part of the guest (registers, segments,
 * MSRs, FPU, events, time, CPUID mask, UART) encodes and decodes its own
 * section; a decoder accepts its own version only, rejects unknown tags, a
 * section given twice or missing, and lengths that do not match.
 *
 * vm_state_validate() then checks every value against what VM entry will
 * accept (SDM Vol. 3C 26.3.1: CR0/CR4 fixed bits, reserved bits, canonical
 * addresses, segment access rights consistent with the mode...) and against
 * Ferry's own limits, before anything touches a guest.
 *
 * Portable (image and host).
 */
#ifndef FERRY_VM_STATE_H
#define FERRY_VM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "kernel/vdev/uart.h"

#define VM_STATE_MAGIC   0x53595246u   /* "FRYS" */
#define VM_STATE_FORMAT  1

enum vm_state_tag {
	VMS_TAG_REGS = 1,      /* GPRs, RIP, RFLAGS, control and debug registers */
	VMS_TAG_SEGMENTS = 2,  /* ES CS SS DS FS GS LDTR TR, GDTR, IDTR */
	VMS_TAG_MSRS = 3,      /* EFER, PAT, SYSENTER, SYSCALL MSRs, KERNEL_GS_BASE */
	VMS_TAG_FPU = 4,       /* the FXSAVE image */
	VMS_TAG_EVENTS = 5,    /* interruptibility, activity, pending debug and injected event */
	VMS_TAG_TIME = 6,      /* guest TSC and its rate, hypercall clock base */
	VMS_TAG_CPUID = 7,     /* the guest's CPUID feature mask */
	VMS_TAG_UART = 8,      /* UART registers and the unfinished line */
	VMS_TAG_COUNT = 8,
};

enum vm_segment { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

enum vm_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15, GPR_COUNT
};

struct vm_segment_state {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;
	uint32_t access;   /* VMCS access-rights format, AR_UNUSABLE for an unusable segment */
};

#define FXSAVE_BYTES 512
#define FXSAVE_MXCSR_OFFSET 24

struct vm_cpu_state {
	uint64_t gpr[GPR_COUNT];   /* RSP as the guest sees it */
	uint64_t rip, rflags;
	uint64_t cr0, cr3, cr4;    /* as the guest sees CR0 and CR4 (the read shadows) */
	uint64_t cr2, dr7, dr[4], dr6;
	uint64_t pdpte[4];         /* PAE paging outside long mode: VM entry loads these, not CR3 */  /* DR0-3 and DR6 are emulated, never loaded into the CPU */
	struct vm_segment_state seg[SEG_COUNT];
	uint64_t gdtr_base, idtr_base;
	uint32_t gdtr_limit, idtr_limit;
	uint64_t efer, pat, debugctl;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint8_t fxsave[FXSAVE_BYTES];
	uint32_t interruptibility, activity;
	uint64_t pending_debug;
	uint32_t pending_event;    /* VM-entry interruption-information format (external interrupt, NMI or hardware exception); 0 for none */
	uint32_t pending_error;
};

struct vm_saved_state {
	struct vm_cpu_state cpu;
	uint64_t guest_tsc;         /* the guest's TSC at the save */
	uint64_t tsc_hz;            /* the rate the guest was told */
	uint64_t clock_ns_base;     /* CLOCK_NS = base + (guest TSC - tsc_base) in ns */
	uint64_t clock_tsc_base;
	struct cpu_features cpuid;
	struct vdev_uart_regs uart;
	char uart_line[VDEV_UART_LINE_MAX];
	uint32_t uart_line_len;
};

/* What the host accepts: VMX fixed bits and Ferry's own policy, from arch code. */
struct vm_state_limits {
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	uint64_t cr0_guest_owned_ok;  /* fixed0 bits the guest may still clear (PE, PG: unrestricted guest) */
	uint64_t cr4_allowed;         /* CR4 bits a guest may set */
	uint32_t phys_bits;           /* MAXPHYADDR */
	uint32_t mxcsr_mask;
	struct cpu_features host;     /* what this host can offer */
};

/* Encodes s into buf; returns the length, or FERR_TOOBIG when cap is too small. */
long vm_state_encode(const struct vm_saved_state *s, uint8_t *buf, size_t cap);

/* Decodes buf into *s; FERR_INVAL (or FERR_NOTSUP for a newer format) with *why on failure. */
int vm_state_decode(const uint8_t *buf, size_t len, struct vm_saved_state *s, const char **why);

/* Checks every value; FERR_INVAL or FERR_NOTSUP with *why on failure. */
int vm_state_validate(const struct vm_saved_state *s, const struct vm_state_limits *lim,
		      const char **why);

/* Helpers the arch code shares with the validator. */
bool vm_state_canonical(uint64_t addr);

#endif
