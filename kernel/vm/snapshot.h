/*
 * A snapshot: a guest's state but its RAM, as data (struct vm_snapshot), and its
 * wire format: what vm_snapshot_save() writes and vm_snapshot_load() reads
 * (kernel/vm/vm.h), and what a migration carries in its STATE message.
 *
 * Format (little-endian): a header {magic "FRYS" u32, format version u16,
 * section count u16}, then sections {tag u32, version u16, reserved u16 = 0,
 * payload length u32, payload}. Each part of the guest (registers, segments,
 * MSRs, FPU, events, time, CPUID mask, UART) encodes and decodes its own
 * section; a decoder accepts its own version only, rejects unknown tags, a
 * section given twice or missing, and lengths that do not match.
 *
 * vm_snapshot_validate() then checks every value against what VM entry will
 * accept (x86_cpu_state_validate, arch/x86/cpu_state.h) and against Ferry's own
 * limits, before anything touches a guest.
 *
 * Portable (image and host).
 */
#ifndef FERRY_VM_SNAPSHOT_H
#define FERRY_VM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_features.h"
#include "arch/x86/cpu_state.h"
#include "kernel/vdev/uart.h"

#define VM_SNAPSHOT_MAGIC   0x53595246u   /* "FRYS" */
#define VM_SNAPSHOT_FORMAT  1

enum vm_snapshot_tag {
	SNAP_TAG_REGS = 1,      /* GPRs, RIP, RFLAGS, control and debug registers */
	SNAP_TAG_SEGMENTS = 2,  /* ES CS SS DS FS GS LDTR TR, GDTR, IDTR */
	SNAP_TAG_MSRS = 3,      /* EFER, PAT, SYSENTER, SYSCALL MSRs, KERNEL_GS_BASE, SPEC_CTRL */
	SNAP_TAG_FPU = 4,       /* the FXSAVE image */
	SNAP_TAG_EVENTS = 5,    /* interruptibility, activity, pending debug and injected event */
	SNAP_TAG_TIME = 6,      /* guest TSC and its rate, hypercall clock base */
	SNAP_TAG_CPUID = 7,     /* the CPU vendor the guest saw, and its CPUID feature mask */
	SNAP_TAG_UART = 8,      /* UART registers and the unfinished line */
	SNAP_TAG_COUNT = 8,
};

struct vm_snapshot {
	struct x86_cpu_state cpu;
	uint64_t guest_tsc;         /* the guest's TSC at the save */
	uint64_t tsc_hz;            /* the rate the guest was told */
	uint64_t clock_ns_base;     /* CLOCK_NS = base + (guest TSC - tsc_base) in ns */
	uint64_t clock_tsc_base;
	uint32_t vendor;            /* enum vcpu_vendor (arch/x86/vcpu.h) of the host that saved it */
	struct cpu_features cpuid;
	struct vdev_uart_regs uart;
	char uart_line[VDEV_UART_LINE_MAX];
	uint32_t uart_line_len;
};

/* Encodes s into buf; returns the length, or FERR_TOOBIG when cap is too small. */
long vm_snapshot_encode(const struct vm_snapshot *s, uint8_t *buf, size_t cap);

/* Decodes buf into *s; FERR_INVAL (or FERR_NOTSUP for a newer format) with *why on failure. */
int vm_snapshot_decode(const uint8_t *buf, size_t len, struct vm_snapshot *s, const char **why);

/*
 * Checks every value: the CPU vendor against lim->vendor (a state saved under
 * one vendor's backend cannot run under the other's), the CPU state
 * (x86_cpu_state_validate), then the TSC rate, the UART and that the CPUID mask
 * is a subset of lim->host. FERR_INVAL, or FERR_NOTSUP for another vendor or
 * features this host lacks, with *why on failure (naming both vendors).
 */
int vm_snapshot_validate(const struct vm_snapshot *s, const struct x86_state_limits *lim,
			 const char **why);

#endif
