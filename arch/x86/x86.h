/*
 * x86-64 architectural constants, one home for each: control-register, EFER and
 * RFLAGS bits, MSR numbers, CPUID leaves and feature bits, register numbers,
 * segment access rights and descriptor types, exception vectors, the
 * interruption-information and guest-state formats of saved events, page-table
 * entry bits, and the FXSAVE layout. Sources: Intel SDM Vol. 1 (FXSAVE, MXCSR),
 * Vol. 2A (CPUID, register encodings), Vol. 3A (system registers, paging,
 * descriptors, exceptions), Vol. 3C 24-25 (the VMCS formats Ferry keeps its
 * saved state in), Vol. 4 (MSRs).
 *
 * Facts only: no policy (what Ferry lets a guest do lives with the code that
 * decides it). VT-x-only encodings (VMCS fields, controls, capability MSRs, exit
 * reasons) are in arch/x86/vmx/.
 *
 * Asm-safe: macros only, with no C types or integer suffixes outside X86_BIT and
 * X86_BIT32, so .S files include it too. Portable (image, host, assembler).
 */
#ifndef FERRY_ARCH_X86_X86_H
#define FERRY_ARCH_X86_X86_H

#ifdef __ASSEMBLY__
#define X86_BIT(n)   (1 << (n))
#define X86_BIT32(n) (1 << (n))
#define X86_C(x)     x
#else
#define X86_BIT(n)   (1ull << (n))   /* a bit of a 64-bit register or entry */
#define X86_BIT32(n) (1u << (n))     /* a bit of a 32-bit field */
#define X86_C(x)     x##ull          /* a 64-bit constant */
#endif

/* ---- CR0 (SDM Vol. 3A 2.5) ----------------------------------------------------------- */
#define CR0_PE X86_BIT(0)    /* protection enable */
#define CR0_MP X86_BIT(1)    /* monitor coprocessor */
#define CR0_ET X86_BIT(4)    /* extension type (reads 1) */
#define CR0_NE X86_BIT(5)    /* native x87 error reporting */
#define CR0_WP X86_BIT(16)   /* write protect in ring 0 */
#define CR0_NW X86_BIT(29)   /* not write-through */
#define CR0_CD X86_BIT(30)   /* cache disable */
#define CR0_PG X86_BIT(31)   /* paging */

/* ---- CR4 (SDM Vol. 3A 2.5) ----------------------------------------------------------- */
#define CR4_TSD        X86_BIT(2)
#define CR4_DE         X86_BIT(3)
#define CR4_PSE        X86_BIT(4)
#define CR4_PAE        X86_BIT(5)
#define CR4_MCE        X86_BIT(6)    /* machine-check exception enable (clear: #MC shuts the CPU down) */
#define CR4_PGE        X86_BIT(7)
#define CR4_OSFXSR     X86_BIT(9)
#define CR4_OSXMMEXCPT X86_BIT(10)
#define CR4_LA57       X86_BIT(12)   /* 5-level paging */
#define CR4_VMXE       X86_BIT(13)
#define CR4_FSGSBASE   X86_BIT(16)
#define CR4_PCIDE      X86_BIT(17)
#define CR4_OSXSAVE    X86_BIT(18)
#define CR4_SMEP       X86_BIT(20)
#define CR4_SMAP       X86_BIT(21)

/* ---- IA32_EFER (SDM Vol. 3A 2.2.1, Vol. 4 table 2-2) --------------------------------- */
#define EFER_SCE X86_BIT(0)    /* SYSCALL enable */
#define EFER_LME X86_BIT(8)    /* long mode enable */
#define EFER_LMA X86_BIT(10)   /* long mode active */
#define EFER_NXE X86_BIT(11)   /* execute-disable enable */
#define EFER_SVME X86_BIT(12)  /* SVM enable (AMD64 APM Vol. 2, 3.1.7) */

/* ---- RFLAGS (SDM Vol. 1 3.4.3) ------------------------------------------------------- */
#define RFLAGS_FIXED1   X86_BIT(1)    /* reserved, always 1 */
#define RFLAGS_IF       X86_BIT(9)
#define RFLAGS_VM       X86_BIT(17)
#define RFLAGS_RESERVED (~X86_C(0x3f7fd7))   /* bits 3, 5, 15, 22-63 */

/* ---- debug registers and PAT: reset values ------------------------------------------- */
#define DR7_INIT     X86_C(0x400)                  /* SDM Vol. 3B 17.2.4 */
#define PAT_POWER_ON X86_C(0x0007040600070406)     /* SDM Vol. 3A 11.12.4 */
#define PAT_ENTRIES  8                             /* one memory type a byte (11.12.2) */

/* ---- MSRs (SDM Vol. 4, table 2-2) ---------------------------------------------------- */
#define MSR_IA32_TSC             0x010
#define MSR_IA32_FEATURE_CONTROL 0x03a
#define MSR_IA32_BIOS_SIGN_ID    0x08b   /* the microcode revision, in bits 63:32 */
#define MSR_IA32_SYSENTER_CS     0x174
#define MSR_IA32_SYSENTER_ESP    0x175
#define MSR_IA32_SYSENTER_EIP    0x176
#define MSR_IA32_MISC_ENABLE     0x1a0
#define MSR_IA32_PAT             0x277
#define MSR_IA32_EFER            0xc0000080
#define MSR_STAR                 0xc0000081   /* SYSCALL target CS/SS */
#define MSR_LSTAR                0xc0000082   /* 64-bit SYSCALL target */
#define MSR_CSTAR                0xc0000083   /* compatibility-mode SYSCALL target */
#define MSR_SFMASK               0xc0000084   /* SYSCALL RFLAGS mask */
#define MSR_FS_BASE              0xc0000100
#define MSR_GS_BASE              0xc0000101
#define MSR_KERNEL_GS_BASE       0xc0000102   /* swapped with GS_BASE by SWAPGS */

/* IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7) */
#define FEATURE_CONTROL_LOCK            X86_BIT(0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX X86_BIT(2)
/* IA32_MISC_ENABLE */
#define MISC_ENABLE_FAST_STRINGS        X86_BIT(0)

/* ---- CPUID (SDM Vol. 2A, CPUID) ------------------------------------------------------ */
#define CPUID_LEAF_VENDOR         0x0           /* EAX: highest basic leaf; EBX EDX ECX: vendor */
#define CPUID_LEAF_FEATURES       0x1
#define CPUID_LEAF_POWER          0x6           /* thermal and power management: EAX[2] ARAT */
#define CPUID_LEAF_EXTENDED_7     0x7
#define CPUID_LEAF_XSAVE          0xd
#define CPUID_LEAF_TSC_CRYSTAL    0x15          /* EAX/EBX: TSC/crystal ratio; ECX: crystal Hz */
#define CPUID_LEAF_FREQUENCY      0x16          /* EAX base, EBX maximum, ECX bus MHz */
#define CPUID_LEAF_HYPERVISOR     0x40000000    /* the hypervisor's own range */
#define CPUID_LEAF_EXT_MAX        0x80000000    /* EAX: highest extended leaf */
#define CPUID_LEAF_EXT_FEATURES   0x80000001
#define CPUID_LEAF_BRAND_FIRST    0x80000002
#define CPUID_LEAF_BRAND_LAST     0x80000004
#define CPUID_LEAF_ADDRESS_SIZES  0x80000008    /* EAX[7:0]: MAXPHYADDR */
#define CPUID_ADDRESS_SIZES_PHYS_MASK 0xff

/* CPUID.01H:ECX */
#define CPUID_1_ECX_SSE3       X86_BIT32(0)
#define CPUID_1_ECX_PCLMULQDQ  X86_BIT32(1)
#define CPUID_1_ECX_VMX        X86_BIT32(5)
#define CPUID_1_ECX_SSSE3      X86_BIT32(9)
#define CPUID_1_ECX_CX16       X86_BIT32(13)
#define CPUID_1_ECX_SSE41      X86_BIT32(19)
#define CPUID_1_ECX_SSE42      X86_BIT32(20)
#define CPUID_1_ECX_X2APIC     X86_BIT32(21)
#define CPUID_1_ECX_MOVBE      X86_BIT32(22)
#define CPUID_1_ECX_POPCNT     X86_BIT32(23)
#define CPUID_1_ECX_TSC_DEADLINE X86_BIT32(24)
#define CPUID_1_ECX_AES        X86_BIT32(25)
#define CPUID_1_ECX_RDRAND     X86_BIT32(30)
#define CPUID_1_ECX_HYPERVISOR X86_BIT32(31)
/* CPUID.01H:EDX */
#define CPUID_1_EDX_FPU   X86_BIT32(0)
#define CPUID_1_EDX_DE    X86_BIT32(2)
#define CPUID_1_EDX_PSE   X86_BIT32(3)
#define CPUID_1_EDX_TSC   X86_BIT32(4)
#define CPUID_1_EDX_MSR   X86_BIT32(5)
#define CPUID_1_EDX_PAE   X86_BIT32(6)
#define CPUID_1_EDX_MCE   X86_BIT32(7)
#define CPUID_1_EDX_CX8   X86_BIT32(8)
#define CPUID_1_EDX_APIC  X86_BIT32(9)
#define CPUID_1_EDX_SEP   X86_BIT32(11)
#define CPUID_1_EDX_PGE   X86_BIT32(13)
#define CPUID_1_EDX_MCA   X86_BIT32(14)
#define CPUID_1_EDX_CMOV  X86_BIT32(15)
#define CPUID_1_EDX_PAT   X86_BIT32(16)
#define CPUID_1_EDX_PSE36 X86_BIT32(17)
#define CPUID_1_EDX_CLFSH X86_BIT32(19)
#define CPUID_1_EDX_MMX   X86_BIT32(23)
#define CPUID_1_EDX_FXSR  X86_BIT32(24)
#define CPUID_1_EDX_SSE   X86_BIT32(25)
#define CPUID_1_EDX_SSE2  X86_BIT32(26)
/* CPUID.06H:EAX */
#define CPUID_6_EAX_ARAT  X86_BIT32(2)     /* the APIC timer runs in every C-state */
/* CPUID.(07H,0):EBX */
#define CPUID_7_EBX_FSGSBASE   X86_BIT32(0)
#define CPUID_7_EBX_BMI1       X86_BIT32(3)
#define CPUID_7_EBX_SMEP       X86_BIT32(7)
#define CPUID_7_EBX_BMI2       X86_BIT32(8)
#define CPUID_7_EBX_ERMS       X86_BIT32(9)
#define CPUID_7_EBX_RDSEED     X86_BIT32(18)
#define CPUID_7_EBX_ADX        X86_BIT32(19)
#define CPUID_7_EBX_SMAP       X86_BIT32(20)
#define CPUID_7_EBX_CLFLUSHOPT X86_BIT32(23)
#define CPUID_7_EBX_SHA        X86_BIT32(29)
/* CPUID.80000001H */
#define CPUID_EXT1_ECX_LAHF      X86_BIT32(0)
#define CPUID_EXT1_ECX_SVM       X86_BIT32(2)    /* AMD APM Vol. 3, CPUID Fn8000_0001 */
#define CPUID_EXT1_ECX_ABM       X86_BIT32(5)
#define CPUID_EXT1_ECX_PREFETCHW X86_BIT32(8)
#define CPUID_EXT1_EDX_SYSCALL   X86_BIT32(11)
#define CPUID_EXT1_EDX_NX        X86_BIT32(20)
#define CPUID_EXT1_EDX_PAGE1GB   X86_BIT32(26)
#define CPUID_EXT1_EDX_LM        X86_BIT32(29)

/* CPUID.(07H,0):EDX: speculation controls (what Ferry does with them: arch/x86/spec_ctrl.h) */
#define CPUID_7_EDX_MD_CLEAR      X86_BIT32(10)   /* VERW clears CPU buffers */
#define CPUID_7_EDX_IBRS_IBPB     X86_BIT32(26)   /* IA32_SPEC_CTRL.IBRS and IA32_PRED_CMD.IBPB */
#define CPUID_7_EDX_STIBP         X86_BIT32(27)
#define CPUID_7_EDX_L1D_FLUSH     X86_BIT32(28)   /* IA32_FLUSH_CMD */
#define CPUID_7_EDX_ARCH_CAPS     X86_BIT32(29)   /* IA32_ARCH_CAPABILITIES */
#define CPUID_7_EDX_SSBD          X86_BIT32(31)   /* IA32_SPEC_CTRL.SSBD */

/* CPUID Fn8000_0008_EBX (AMD APM Vol. 3, appendix E). */
#define CPUID_EXT8_EBX_IBPB       X86_BIT32(12)
#define CPUID_EXT8_EBX_IBRS       X86_BIT32(14)
#define CPUID_EXT8_EBX_STIBP      X86_BIT32(15)
#define CPUID_EXT8_EBX_SSBD       X86_BIT32(24)

/* Speculation-control MSRs (SDM Vol. 4 table 2-2; the same numbers on AMD). */
#define MSR_IA32_SPEC_CTRL        0x048
#define MSR_IA32_PRED_CMD         0x049
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define MSR_IA32_FLUSH_CMD        0x10b
#define SPEC_CTRL_IBRS            X86_BIT(0)
#define SPEC_CTRL_STIBP           X86_BIT(1)
#define SPEC_CTRL_SSBD            X86_BIT(2)
#define PRED_CMD_IBPB             X86_BIT(0)
#define FLUSH_CMD_L1D             X86_BIT(0)
#define ARCH_CAP_RDCL_NO          X86_BIT(0)   /* not affected by Meltdown or L1TF */
#define ARCH_CAP_IBRS_ALL         X86_BIT(1)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY X86_BIT(3) /* no L1D flush needed on VM entry */
#define ARCH_CAP_MDS_NO           X86_BIT(5)
#define ARCH_CAP_TAA_NO           X86_BIT(8)

/* Machine-check architecture (SDM Vol. 3B 16.3; the same MSRs on AMD, APM Vol. 2 9.3). */
#define MSR_IA32_MCG_CAP          0x179
#define MSR_IA32_MCG_STATUS       0x17a
#define MSR_IA32_MC0_STATUS       0x401        /* bank i: MSR_IA32_MC0_STATUS + 4 * i */
#define MSR_IA32_MC0_ADDR         0x402
#define MCE_BANK_MSR_STRIDE       4
#define MCG_CAP_COUNT_MASK        0xff
#define MCG_STATUS_RIPV           X86_BIT(0)   /* the interrupted context can be restarted */
#define MCG_STATUS_EIPV           X86_BIT(1)   /* the saved RIP points at the cause */
#define MCG_STATUS_MCIP           X86_BIT(2)   /* a machine check is in progress */
#define MCI_STATUS_VAL            X86_BIT(63)
#define MCI_STATUS_OVER           X86_BIT(62)
#define MCI_STATUS_UC             X86_BIT(61)  /* uncorrected */
#define MCI_STATUS_EN             X86_BIT(60)
#define MCI_STATUS_ADDRV          X86_BIT(58)
#define MCI_STATUS_PCC            X86_BIT(57)  /* processor context corrupt */

/* ---- general-purpose registers ------------------------------------------------------- */
/*
 * Register numbers as instructions encode them (SDM Vol. 2A 3.1.1.1, table 3-1;
 * REX.R/B supply bit 3): the index of a register in Ferry's register file
 * (arch/x86/cpu_state.h) and in the VMX exit qualifications.
 */
#define GPR_RAX 0
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RBX 3
#define GPR_RSP 4
#define GPR_RBP 5
#define GPR_RSI 6
#define GPR_RDI 7
#define GPR_R8  8
#define GPR_R9  9
#define GPR_R10 10
#define GPR_R11 11
#define GPR_R12 12
#define GPR_R13 13
#define GPR_R14 14
#define GPR_R15 15
#define GPR_COUNT 16

/* ---- segments ------------------------------------------------------------------------ */
/*
 * Access rights as the VMCS holds them (SDM Vol. 3C 24.4.1, table 24-2), which is
 * also Ferry's saved-state format: bits 7:0 are descriptor bits 47:40 (type, S,
 * DPL, P), bits 15:12 descriptor bits 55:52 (AVL, L, D/B, G), bit 16 "unusable".
 */
#define AR_TYPE_MASK   0xf
#define AR_TYPE(a)     ((a) & AR_TYPE_MASK)
#define AR_S           X86_BIT32(4)    /* code or data (clear: a system segment) */
#define AR_DPL_SHIFT   5
#define AR_DPL(a)      (((a) >> AR_DPL_SHIFT) & 3)
#define AR_P           X86_BIT32(7)    /* present */
#define AR_AVL         X86_BIT32(12)
#define AR_L           X86_BIT32(13)   /* 64-bit code */
#define AR_DB          X86_BIT32(14)   /* default operation size 32 */
#define AR_G           X86_BIT32(15)   /* limit in 4 KiB units */
#define AR_UNUSABLE    X86_BIT32(16)
#define AR_RESERVED    0xfffe0f00

/* Code and data types (S set; SDM Vol. 3A 3.4.5.1, table 3-1). */
#define SEG_TYPE_ACCESSED          1
#define SEG_TYPE_WRITABLE          2   /* data: writable; code: readable */
#define SEG_TYPE_CODE              8
#define SEG_TYPE_DATA_RW_ACCESSED  (SEG_TYPE_WRITABLE | SEG_TYPE_ACCESSED)
#define SEG_TYPE_CODE_XR_ACCESSED  (SEG_TYPE_CODE | SEG_TYPE_WRITABLE | SEG_TYPE_ACCESSED)
/* System types (S clear; table 3-2, IA-32e mode). */
#define SYS_TYPE_LDT            2
#define SYS_TYPE_TSS16_BUSY     3
#define SYS_TYPE_TSS64_AVAILABLE 9
#define SYS_TYPE_TSS64_BUSY     11
#define SYS_TYPE_INTERRUPT_GATE 14

/* Descriptors (SDM Vol. 3A 3.4.5, figure 3-8). */
#define DESC_ACCESS_SHIFT  40        /* the access byte: descriptor bits 47:40 */
#define DESC_LIMIT_LOW     0xffff    /* limit 15:0 in bits 15:0; 19:16 in bits 51:48 */
#define DESC_LIMIT_FLAT    0xfffff   /* the whole address space with AR_G */
#define TSS64_BYTES        104       /* SDM Vol. 3A 8.7, figure 8-11 */
#define TSS64_IOMAP_BASE_OFFSET 102

/* Selectors (SDM Vol. 3A 3.4.2). */
#define SELECTOR_TI     4            /* table indicator: the LDT */
#define SELECTOR_RPL(s) ((s) & 3)

/* ---- exceptions and events ----------------------------------------------------------- */
/* Exception vectors (SDM Vol. 3A 6.3.1, table 6-1). */
#define VECTOR_DE 0
#define VECTOR_DB 1
#define VECTOR_NMI 2
#define VECTOR_BP 3    /* INT3 */
#define VECTOR_OF 4    /* INTO */
#define VECTOR_UD 6
#define VECTOR_DF 8
#define VECTOR_TS 10
#define VECTOR_NP 11
#define VECTOR_SS 12
#define VECTOR_GP 13
#define VECTOR_PF 14
#define VECTOR_AC 17
#define VECTOR_MC 18
#define VECTOR_CP 21
#define VECTOR_EXCEPTIONS 32   /* vectors 0-31 are exceptions */
/* The exceptions that push an error code (table 6-1). */
#define VECTORS_WITH_ERROR_CODE (X86_BIT32(VECTOR_DF) | X86_BIT32(VECTOR_TS) | X86_BIT32(VECTOR_NP) | \
				 X86_BIT32(VECTOR_SS) | X86_BIT32(VECTOR_GP) | X86_BIT32(VECTOR_PF) | \
				 X86_BIT32(VECTOR_AC) | X86_BIT32(VECTOR_CP))

/* Page-fault error code (SDM Vol. 3A 4.7). */
#define PF_ERROR_PROTECTION X86_BIT32(0)
#define PF_ERROR_WRITE      X86_BIT32(1)
#define PF_ERROR_FETCH      X86_BIT32(4)

/*
 * An event to deliver, in the interruption-information format (SDM Vol. 3C
 * 25.8.3; AMD's EVENTINJ has the same layout): vector 7:0, type 10:8, deliver an
 * error code 11, valid 31.
 */
#define INTR_INFO_VECTOR(i)     ((i) & 0xff)
#define INTR_INFO_TYPE_SHIFT    8
#define INTR_INFO_TYPE(i)       (((i) >> INTR_INFO_TYPE_SHIFT) & 7)
#define INTR_INFO_DELIVER_ERROR X86_BIT32(11)
#define INTR_INFO_VALID         X86_BIT32(31)
#define INTR_INFO_RESERVED      0x7ffff000
#define INTR_TYPE_EXTERNAL      0
#define INTR_TYPE_NMI           2
#define INTR_TYPE_HW_EXCEPTION  3

/* Interruptibility state (SDM Vol. 3C 24.4.2, table 24-3). */
#define INTERRUPTIBILITY_STI    X86_BIT32(0)
#define INTERRUPTIBILITY_MOV_SS X86_BIT32(1)
#define INTERRUPTIBILITY_KNOWN  0xf   /* STI, MOV SS, SMI, NMI */
/* Activity state (24.4.2). */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT    1
/* Pending debug exceptions (24.4.2, table 24-4): B0-B3, enabled breakpoint, BS, RTM. */
#define PENDING_DEBUG_KNOWN 0x1500f

/* ---- paging (SDM Vol. 3A 4.5, tables 4-15 to 4-20) ----------------------------------- */
#define PTE_PRESENT   X86_BIT(0)
#define PTE_WRITABLE  X86_BIT(1)
#define PTE_USER      X86_BIT(2)
#define PTE_PWT       X86_BIT(3)
#define PTE_PCD       X86_BIT(4)
#define PTE_ACCESSED  X86_BIT(5)
#define PTE_DIRTY     X86_BIT(6)    /* in a leaf */
#define PTE_LARGE     X86_BIT(7)    /* PS: a 2 MiB page in a PD entry, 1 GiB in a PDPT entry */
#define PTE_NX        X86_BIT(63)
#define PTE_ADDR_MASK X86_C(0x000ffffffffff000)
#define PT_ENTRIES    512
#define PAGE_2M       X86_BIT(21)     /* a PD entry's large page (4 KiB: PAGE_SIZE, kernel/lib/units.h) */
#define PAGE_1G       X86_BIT(30)     /* a PDPT entry's reach */
#define PDPTE_RESERVED X86_C(0x1e6)   /* PAE PDPTE bits 1, 2, 5-8 (SDM Vol. 3A 4.4.1) */
#define CANONICAL_BITS 48             /* 4-level paging */

/* ---- FXSAVE image (SDM Vol. 1 10.5.1, table 10-2) ------------------------------------ */
#define FXSAVE_BYTES              512
#define FXSAVE_FCW_OFFSET         0
#define FXSAVE_MXCSR_OFFSET       24
#define FXSAVE_MXCSR_MASK_OFFSET  28
#define FCW_INIT                  0x037f   /* x87 control word after FINIT */
#define MXCSR_INIT                0x1f80   /* all exceptions masked, round to nearest */
#define MXCSR_BITS                0xffff
#define MXCSR_MASK_DEFAULT        0xffbf   /* when FXSAVE stores a mask of 0 (SDM Vol. 1 11.6.6) */

#endif
