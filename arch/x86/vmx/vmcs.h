/*
 * VMCS field encodings, exit reasons, control bits and the VMX instructions
 * (SDM Vol. 3C ch. 24-27 and appendix B; Vol. 2 for VMREAD/VMWRITE/INVEPT).
 * The field encodings are asm-safe (entry.S includes this header); the rest is C.
 * Image only: the instructions fault outside VMX operation.
 */
#ifndef FERRY_ARCH_X86_VMCS_H
#define FERRY_ARCH_X86_VMCS_H

#ifndef __ASSEMBLY__
#include <stdbool.h>
#include <stdint.h>
#endif

/* 16-bit fields (SDM Vol. 3C B.1) */
#define VMCS_VPID                 0x0000
#define VMCS_GUEST_ES_SEL         0x0800   /* + 2 * segment index: ES CS SS DS FS GS LDTR TR */
#define VMCS_GUEST_PML_INDEX      0x0812
#define VMCS_HOST_ES_SEL          0x0c00
#define VMCS_HOST_CS_SEL          0x0c02
#define VMCS_HOST_SS_SEL          0x0c04
#define VMCS_HOST_DS_SEL          0x0c06
#define VMCS_HOST_FS_SEL          0x0c08
#define VMCS_HOST_GS_SEL          0x0c0a
#define VMCS_HOST_TR_SEL          0x0c0c

/* 64-bit fields (B.2) */
#define VMCS_PML_ADDRESS          0x200e
#define VMCS_TSC_OFFSET           0x2010
#define VMCS_EPT_POINTER          0x201a
#define VMCS_GUEST_PHYS_ADDR      0x2400
#define VMCS_LINK_POINTER         0x2800
#define VMCS_GUEST_DEBUGCTL       0x2802
#define VMCS_GUEST_PAT            0x2804
#define VMCS_GUEST_EFER           0x2806
#define VMCS_GUEST_PDPTE0         0x280a   /* + 2 * index, up to PDPTE3 */
#define VMCS_HOST_PAT             0x2c00
#define VMCS_HOST_EFER            0x2c02

/* 32-bit fields (B.3) */
#define VMCS_PIN_CONTROLS         0x4000
#define VMCS_PROC_CONTROLS        0x4002
#define VMCS_EXCEPTION_BITMAP     0x4004
#define VMCS_CR3_TARGET_COUNT     0x400a
#define VMCS_EXIT_CONTROLS        0x400c
#define VMCS_EXIT_MSR_STORE_COUNT 0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT  0x4010
#define VMCS_ENTRY_CONTROLS       0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014
#define VMCS_ENTRY_INTR_INFO      0x4016
#define VMCS_ENTRY_EXCEPTION_ERR  0x4018
#define VMCS_ENTRY_INSTR_LEN      0x401a
#define VMCS_PROC2_CONTROLS       0x401e
#define VMCS_INSTR_ERROR          0x4400
#define VMCS_EXIT_REASON          0x4402
#define VMCS_EXIT_INTR_INFO       0x4404
#define VMCS_EXIT_INTR_ERR        0x4406
#define VMCS_IDT_VECTORING_INFO   0x4408
#define VMCS_IDT_VECTORING_ERR    0x440a
#define VMCS_EXIT_INSTR_LEN       0x440c
#define VMCS_GUEST_ES_LIMIT       0x4800   /* + 2 * segment index */
#define VMCS_GUEST_GDTR_LIMIT     0x4810
#define VMCS_GUEST_IDTR_LIMIT     0x4812
#define VMCS_GUEST_ES_AR          0x4814   /* + 2 * segment index */
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_GUEST_ACTIVITY       0x4826
#define VMCS_GUEST_SYSENTER_CS    0x482a
#define VMCS_PREEMPTION_TIMER     0x482e
#define VMCS_HOST_SYSENTER_CS     0x4c00

/* Natural-width fields (B.4) */
#define VMCS_CR0_MASK             0x6000
#define VMCS_CR4_MASK             0x6002
#define VMCS_CR0_SHADOW           0x6004
#define VMCS_CR4_SHADOW           0x6006
#define VMCS_EXIT_QUALIFICATION   0x6400
#define VMCS_GUEST_LINEAR_ADDR    0x640a
#define VMCS_GUEST_CR0            0x6800
#define VMCS_GUEST_CR3            0x6802
#define VMCS_GUEST_CR4            0x6804
#define VMCS_GUEST_ES_BASE        0x6806   /* + 2 * segment index */
#define VMCS_GUEST_GDTR_BASE      0x6816
#define VMCS_GUEST_IDTR_BASE      0x6818
#define VMCS_GUEST_DR7            0x681a
#define VMCS_GUEST_RSP            0x681c
#define VMCS_GUEST_RIP            0x681e
#define VMCS_GUEST_RFLAGS         0x6820
#define VMCS_GUEST_PENDING_DBG    0x6822
#define VMCS_GUEST_SYSENTER_ESP   0x6824
#define VMCS_GUEST_SYSENTER_EIP   0x6826
#define VMCS_HOST_CR0             0x6c00
#define VMCS_HOST_CR3             0x6c02
#define VMCS_HOST_CR4             0x6c04
#define VMCS_HOST_FS_BASE         0x6c06
#define VMCS_HOST_GS_BASE         0x6c08
#define VMCS_HOST_TR_BASE         0x6c0a
#define VMCS_HOST_GDTR_BASE       0x6c0c
#define VMCS_HOST_IDTR_BASE       0x6c0e
#define VMCS_HOST_SYSENTER_ESP    0x6c10
#define VMCS_HOST_SYSENTER_EIP    0x6c12
#define VMCS_HOST_RSP             0x6c14
#define VMCS_HOST_RIP             0x6c16

/* Pin-based controls (SDM Vol. 3C 25.6.1) */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING                (1u << 3)
/* PIN_CTL_PREEMPTION_TIMER is in caps.h */

/* Primary processor-based controls (25.6.2, table 25-6) */
#define PROC_INTERRUPT_WINDOW     (1u << 2)
#define PROC_USE_TSC_OFFSETTING   (1u << 3)
#define PROC_HLT_EXITING          (1u << 7)
#define PROC_MWAIT_EXITING        (1u << 10)
#define PROC_RDPMC_EXITING        (1u << 11)
#define PROC_CR3_LOAD_EXITING     (1u << 15)
#define PROC_CR3_STORE_EXITING    (1u << 16)
#define PROC_MOV_DR_EXITING       (1u << 23)
#define PROC_UNCONDITIONAL_IO     (1u << 24)
#define PROC_MONITOR_EXITING      (1u << 29)
/* PROC_CTL_ACTIVATE_SECONDARY, PROC2_CTL_* are in caps.h */

/* VM-exit controls (25.7.1) */
#define EXIT_SAVE_DEBUG_CONTROLS  (1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTERRUPT        (1u << 15)
#define EXIT_SAVE_PAT             (1u << 18)
#define EXIT_LOAD_PAT             (1u << 19)
#define EXIT_SAVE_EFER            (1u << 20)
#define EXIT_LOAD_EFER            (1u << 21)

/* VM-entry controls (25.8.1) */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST    (1u << 9)
#define ENTRY_LOAD_PAT            (1u << 14)
#define ENTRY_LOAD_EFER           (1u << 15)

#ifndef __ASSEMBLY__
/* Exit reasons (appendix C) */
enum vmx_exit_reason {
	EXIT_EXCEPTION_NMI = 0,
	EXIT_EXTERNAL_INTERRUPT = 1,
	EXIT_TRIPLE_FAULT = 2,
	EXIT_INIT = 3,
	EXIT_SIPI = 4,
	EXIT_INTERRUPT_WINDOW = 7,
	EXIT_TASK_SWITCH = 9,
	EXIT_CPUID = 10,
	EXIT_GETSEC = 11,
	EXIT_HLT = 12,
	EXIT_INVD = 13,
	EXIT_RDPMC = 15,
	EXIT_RDTSC = 16,
	EXIT_VMCALL = 18,
	EXIT_VMCLEAR = 19,
	EXIT_VMLAUNCH = 20,
	EXIT_VMPTRLD = 21,
	EXIT_VMPTRST = 22,
	EXIT_VMREAD = 23,
	EXIT_VMRESUME = 24,
	EXIT_VMWRITE = 25,
	EXIT_VMXOFF = 26,
	EXIT_VMXON = 27,
	EXIT_CR_ACCESS = 28,
	EXIT_DR_ACCESS = 29,
	EXIT_IO = 30,
	EXIT_RDMSR = 31,
	EXIT_WRMSR = 32,
	EXIT_ENTRY_INVALID_GUEST = 33,
	EXIT_ENTRY_MSR_LOADING = 34,
	EXIT_MWAIT = 36,
	EXIT_MONITOR = 39,
	EXIT_PAUSE = 40,
	EXIT_ENTRY_MACHINE_CHECK = 41,
	EXIT_EPT_VIOLATION = 48,
	EXIT_EPT_MISCONFIG = 49,
	EXIT_INVEPT = 50,
	EXIT_RDTSCP = 51,
	EXIT_PREEMPTION_TIMER = 52,
	EXIT_INVVPID = 53,
	EXIT_WBINVD = 54,
	EXIT_XSETBV = 55,
	EXIT_INVPCID = 58,
	EXIT_VMFUNC = 59,
	EXIT_PML_FULL = 62,
	EXIT_REASON_COUNT = 70,
};
#endif
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)
#define EXIT_REASON_BASIC_MASK    0xffffu

/* EPT-violation exit qualification (27.2.1, table 27-7) */
#define EPT_QUAL_READ  (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_NMI_UNBLOCKING (1ull << 12)   /* an IRET's NMI unblocking was undone */

/* I/O exit qualification (table 27-5) */
#define IO_QUAL_SIZE_MASK 0x7ull
#define IO_QUAL_IN        (1ull << 3)
#define IO_QUAL_STRING    (1ull << 4)
#define IO_QUAL_REP       (1ull << 5)
#define IO_QUAL_PORT_SHIFT 16

/* Control-register access qualification (table 27-3) */
#define CR_QUAL_NUMBER(q)  ((unsigned)((q) & 0xf))
#define CR_QUAL_TYPE(q)    ((unsigned)(((q) >> 4) & 0x3))
#define CR_QUAL_GPR(q)     ((unsigned)(((q) >> 8) & 0xf))
#define CR_ACCESS_MOV_TO   0
#define CR_ACCESS_MOV_FROM 1

/* MOV DR qualification (table 27-4) */
#define DR_QUAL_NUMBER(q)  ((unsigned)((q) & 0x7))
#define DR_QUAL_FROM       (1ull << 4)
#define DR_QUAL_GPR(q)     ((unsigned)(((q) >> 8) & 0xf))

/* INVEPT / INVVPID types (Vol. 2, INVEPT and INVVPID) */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXTS   2
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXTS   2

#if defined(FERRY_IMAGE) && !defined(__ASSEMBLY__)
/* VMREAD/VMWRITE on the current VMCS; failures are Ferry bugs (wrong field), never guest faults. */
static inline uint64_t vmread(uint64_t field)
{
	uint64_t v;

	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}

static inline bool vmwrite_checked(uint64_t field, uint64_t value)
{
	bool ok;

	__asm__ volatile("vmwrite %2, %1; seta %0" : "=qm"(ok) : "r"(field), "rm"(value) : "cc");
	return ok;
}

void vmwrite(uint64_t field, uint64_t value);
#endif

#endif
