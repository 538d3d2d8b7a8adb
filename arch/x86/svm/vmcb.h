/*
 * The virtual machine control block (AMD64 APM Vol. 2, appendix B): its layout,
 * the intercept bits Ferry sets, the exit codes (appendix C) and the formats of
 * the fields it reads (EXITINFO1 of the I/O and nested-page-fault intercepts,
 * EVENTINJ/EXITINTINFO, 15.20). Offsets are checked with _Static_assert against
 * table B-1 (the control area, VMCB offsets 000h-3FFh) and table B-2 (the state
 * save area, from VMCB offset 400h; the table gives offsets within it).
 *
 * Every field sits at its natural alignment, so the structures need no packing;
 * the assertions below hold the compiler to the APM's offsets.
 *
 * Portable (a layout header; the host tests include it).
 */
#ifndef FERRY_ARCH_X86_SVM_VMCB_H
#define FERRY_ARCH_X86_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

#define VMCB_BYTES 4096

/* One segment register in the state save area (table B-2). */
struct vmcb_segment {
	uint16_t selector;
	uint16_t attrib;    /* 12 bits: descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
	uint32_t limit;
	uint64_t base;
};

/* Table B-1. */
struct vmcb_control {
	uint16_t intercept_cr_read;      /* 000h: bit n, CR n */
	uint16_t intercept_cr_write;     /* 002h */
	uint16_t intercept_dr_read;      /* 004h */
	uint16_t intercept_dr_write;     /* 006h */
	uint32_t intercept_exceptions;   /* 008h: bit n, vector n */
	uint32_t intercept_misc1;        /* 00Ch: SVM_INTERCEPT1_* */
	uint32_t intercept_misc2;        /* 010h: SVM_INTERCEPT2_* */
	uint32_t intercept_misc3;        /* 014h: INVLPGB, INVPCID... (left clear) */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_threshold; /* 03Ch */
	uint16_t pause_filter_count;     /* 03Eh */
	uint64_t iopm_base_pa;           /* 040h */
	uint64_t msrpm_base_pa;          /* 048h */
	uint64_t tsc_offset;             /* 050h */
	uint32_t guest_asid;             /* 058h */
	uint8_t tlb_control;             /* 05Ch: SVM_TLB_* */
	uint8_t reserved_05d[3];
	uint32_t int_ctl;                /* 060h: V_TPR, V_IRQ, V_INTR_MASKING... */
	uint32_t int_vector;             /* 064h */
	uint32_t int_state;              /* 068h: bit 0, the interrupt shadow */
	uint8_t reserved_06c[4];
	uint64_t exit_code;              /* 070h */
	uint64_t exit_info1;             /* 078h */
	uint64_t exit_info2;             /* 080h */
	uint32_t exit_int_info;          /* 088h: EVENTINJ format */
	uint32_t exit_int_info_error;    /* 08Ch */
	uint64_t nested_ctl;             /* 090h: bit 0, NP_ENABLE */
	uint64_t avic_apic_bar;          /* 098h */
	uint64_t ghcb_pa;                /* 0A0h */
	uint32_t event_inj;              /* 0A8h */
	uint32_t event_inj_error;        /* 0ACh */
	uint64_t nested_cr3;             /* 0B0h: N_CR3, the nested page tables */
	uint64_t virt_ext;               /* 0B8h: LBR and VMSAVE/VMLOAD virtualization */
	uint32_t clean_bits;             /* 0C0h */
	uint32_t reserved_0c4;
	uint64_t next_rip;               /* 0C8h: nRIP, with NRIP save */
	uint8_t insn_bytes_fetched;      /* 0D0h: with decode assists */
	uint8_t insn_bytes[15];          /* 0D1h */
	uint64_t avic_backing_page;      /* 0E0h */
	uint8_t reserved_0e8[8];
	uint64_t avic_logical_table;     /* 0F0h */
	uint64_t avic_physical_table;    /* 0F8h */
	uint8_t reserved_100[8];
	uint64_t vmsa_pa;                /* 108h */
	uint8_t reserved_110[0x400 - 0x110];
};

/* Table B-2 (offsets within the state save area). */
struct vmcb_save {
	struct vmcb_segment es, cs, ss, ds, fs, gs;   /* 000h-050h */
	struct vmcb_segment gdtr, ldtr, idtr, tr;     /* 060h-090h (GDTR/IDTR: limit and base only) */
	uint8_t reserved_0a0[0x0cb - 0x0a0];
	uint8_t cpl;                     /* 0CBh */
	uint32_t reserved_0cc;
	uint64_t efer;                   /* 0D0h */
	uint8_t reserved_0d8[0x148 - 0x0d8];
	uint64_t cr4;                    /* 148h */
	uint64_t cr3;                    /* 150h */
	uint64_t cr0;                    /* 158h */
	uint64_t dr7;                    /* 160h */
	uint64_t dr6;                    /* 168h */
	uint64_t rflags;                 /* 170h */
	uint64_t rip;                    /* 178h */
	uint8_t reserved_180[0x1d8 - 0x180];
	uint64_t rsp;                    /* 1D8h */
	uint64_t s_cet, ssp, isst_addr;  /* 1E0h-1F0h */
	uint64_t rax;                    /* 1F8h */
	uint64_t star;                   /* 200h */
	uint64_t lstar;                  /* 208h */
	uint64_t cstar;                  /* 210h */
	uint64_t sfmask;                 /* 218h */
	uint64_t kernel_gs_base;         /* 220h */
	uint64_t sysenter_cs;            /* 228h */
	uint64_t sysenter_esp;           /* 230h */
	uint64_t sysenter_eip;           /* 238h */
	uint64_t cr2;                    /* 240h */
	uint8_t reserved_248[0x268 - 0x248];
	uint64_t g_pat;                  /* 268h: the guest PAT, used with nested paging */
	uint64_t dbgctl;                 /* 270h */
	uint64_t br_from, br_to;         /* 278h, 280h */
	uint64_t last_excp_from, last_excp_to;   /* 288h, 290h */
	uint8_t reserved_298[VMCB_BYTES - 0x400 - 0x298];
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

#define VMCB_CHECK(type, field, offset) \
	_Static_assert(offsetof(struct type, field) == (offset), #type "." #field " at " #offset)
VMCB_CHECK(vmcb_control, intercept_dr_read, 0x004);
VMCB_CHECK(vmcb_control, intercept_exceptions, 0x008);
VMCB_CHECK(vmcb_control, intercept_misc1, 0x00c);
VMCB_CHECK(vmcb_control, intercept_misc2, 0x010);
VMCB_CHECK(vmcb_control, pause_filter_threshold, 0x03c);
VMCB_CHECK(vmcb_control, iopm_base_pa, 0x040);
VMCB_CHECK(vmcb_control, msrpm_base_pa, 0x048);
VMCB_CHECK(vmcb_control, tsc_offset, 0x050);
VMCB_CHECK(vmcb_control, guest_asid, 0x058);
VMCB_CHECK(vmcb_control, tlb_control, 0x05c);
VMCB_CHECK(vmcb_control, int_ctl, 0x060);
VMCB_CHECK(vmcb_control, int_state, 0x068);
VMCB_CHECK(vmcb_control, exit_code, 0x070);
VMCB_CHECK(vmcb_control, exit_info1, 0x078);
VMCB_CHECK(vmcb_control, exit_info2, 0x080);
VMCB_CHECK(vmcb_control, exit_int_info, 0x088);
VMCB_CHECK(vmcb_control, nested_ctl, 0x090);
VMCB_CHECK(vmcb_control, event_inj, 0x0a8);
VMCB_CHECK(vmcb_control, nested_cr3, 0x0b0);
VMCB_CHECK(vmcb_control, clean_bits, 0x0c0);
VMCB_CHECK(vmcb_control, next_rip, 0x0c8);
VMCB_CHECK(vmcb_control, insn_bytes_fetched, 0x0d0);
VMCB_CHECK(vmcb_control, avic_backing_page, 0x0e0);
VMCB_CHECK(vmcb_control, vmsa_pa, 0x108);
VMCB_CHECK(vmcb_save, cs, 0x010);
VMCB_CHECK(vmcb_save, gdtr, 0x060);
VMCB_CHECK(vmcb_save, ldtr, 0x070);
VMCB_CHECK(vmcb_save, idtr, 0x080);
VMCB_CHECK(vmcb_save, tr, 0x090);
VMCB_CHECK(vmcb_save, cpl, 0x0cb);
VMCB_CHECK(vmcb_save, efer, 0x0d0);
VMCB_CHECK(vmcb_save, cr4, 0x148);
VMCB_CHECK(vmcb_save, cr0, 0x158);
VMCB_CHECK(vmcb_save, dr6, 0x168);
VMCB_CHECK(vmcb_save, rflags, 0x170);
VMCB_CHECK(vmcb_save, rip, 0x178);
VMCB_CHECK(vmcb_save, rsp, 0x1d8);
VMCB_CHECK(vmcb_save, rax, 0x1f8);
VMCB_CHECK(vmcb_save, star, 0x200);
VMCB_CHECK(vmcb_save, kernel_gs_base, 0x220);
VMCB_CHECK(vmcb_save, sysenter_eip, 0x238);
VMCB_CHECK(vmcb_save, cr2, 0x240);
VMCB_CHECK(vmcb_save, g_pat, 0x268);
VMCB_CHECK(vmcb_save, dbgctl, 0x270);
VMCB_CHECK(vmcb_save, last_excp_to, 0x290);
VMCB_CHECK(vmcb, save, 0x400);
_Static_assert(sizeof(struct vmcb_segment) == 16, "a VMCB segment is 16 bytes");
_Static_assert(sizeof(struct vmcb) == VMCB_BYTES, "the VMCB is one page");
#undef VMCB_CHECK

/* Intercept vector 3, VMCB 00Ch (table B-1): bit n is exit code 060h + n. */
#define SVM_INTERCEPT1_INTR        (1u << 0)
#define SVM_INTERCEPT1_NMI         (1u << 1)
#define SVM_INTERCEPT1_SMI         (1u << 2)
#define SVM_INTERCEPT1_INIT        (1u << 3)
#define SVM_INTERCEPT1_RDPMC       (1u << 15)
#define SVM_INTERCEPT1_CPUID       (1u << 18)
#define SVM_INTERCEPT1_INVD        (1u << 22)
#define SVM_INTERCEPT1_HLT         (1u << 24)
#define SVM_INTERCEPT1_INVLPGA     (1u << 26)
#define SVM_INTERCEPT1_IOIO_PROT   (1u << 27)
#define SVM_INTERCEPT1_MSR_PROT    (1u << 28)
#define SVM_INTERCEPT1_TASK_SWITCH (1u << 29)
#define SVM_INTERCEPT1_SHUTDOWN    (1u << 31)
/* Intercept vector 4, VMCB 010h: bit n is exit code 080h + n. */
#define SVM_INTERCEPT2_VMRUN       (1u << 0)
#define SVM_INTERCEPT2_VMMCALL     (1u << 1)
#define SVM_INTERCEPT2_VMLOAD      (1u << 2)
#define SVM_INTERCEPT2_VMSAVE      (1u << 3)
#define SVM_INTERCEPT2_STGI        (1u << 4)
#define SVM_INTERCEPT2_CLGI        (1u << 5)
#define SVM_INTERCEPT2_SKINIT      (1u << 6)
#define SVM_INTERCEPT2_RDTSCP      (1u << 7)
#define SVM_INTERCEPT2_WBINVD      (1u << 9)    /* WBINVD and WBNOINVD */
#define SVM_INTERCEPT2_MONITOR     (1u << 10)
#define SVM_INTERCEPT2_MWAIT       (1u << 11)
#define SVM_INTERCEPT2_MWAIT_ARMED (1u << 12)
#define SVM_INTERCEPT2_XSETBV      (1u << 13)

/* TLB_CONTROL (VMCB 05Ch, 15.16.1): TCG takes 0 and 1 only. */
#define SVM_TLB_NOTHING            0u
#define SVM_TLB_FLUSH_ALL          1u
#define SVM_TLB_FLUSH_ASID         3u   /* with the flush-by-ASID feature */

/* VINTR control (VMCB 060h, 15.21): the guest's RFLAGS.IF masks only virtual
 * interrupts; physical ones follow the host's IF as it was at VMRUN. */
#define SVM_INT_CTL_V_INTR_MASKING (1u << 24)
#define SVM_INT_STATE_SHADOW       (1u << 0)   /* VMCB 068h: STI or MOV SS shadow */
#define SVM_NESTED_CTL_NP_ENABLE   (1ull << 0)

/* EVENTINJ and EXITINTINFO (15.20): vector, type, error-code valid, valid. */
#define SVM_EVENT_VECTOR_MASK      0xffu
#define SVM_EVENT_TYPE_SHIFT       8
#define SVM_EVENT_TYPE_MASK        (7u << SVM_EVENT_TYPE_SHIFT)
#define SVM_EVENT_TYPE_INTR        0u
#define SVM_EVENT_TYPE_NMI         2u
#define SVM_EVENT_TYPE_EXCEPTION   3u
#define SVM_EVENT_TYPE_SOFT_INT    4u
#define SVM_EVENT_ERROR_VALID      (1u << 11)
#define SVM_EVENT_VALID            (1u << 31)

/* EXITINFO1 of the IOIO intercept (15.10.2); EXITINFO2 holds the next RIP. */
#define SVM_IOIO_IN                (1ull << 0)
#define SVM_IOIO_STRING            (1ull << 2)
#define SVM_IOIO_REP               (1ull << 3)
#define SVM_IOIO_SIZE8             (1ull << 4)
#define SVM_IOIO_SIZE16            (1ull << 5)
#define SVM_IOIO_SIZE32            (1ull << 6)
#define SVM_IOIO_PORT_SHIFT        16

/* EXITINFO1 of a nested page fault (15.25.6): a #PF error code plus two flags.
 * EXITINFO2 holds the faulting guest-physical address. */
#define SVM_NPF_PRESENT            (1ull << 0)
#define SVM_NPF_WRITE              (1ull << 1)
#define SVM_NPF_FETCH              (1ull << 4)
#define SVM_NPF_FINAL_GPA          (1ull << 32)
#define SVM_NPF_PAGE_WALK          (1ull << 33)

/* EXITINFO1 of the MSR intercept (15.11). */
#define SVM_MSR_EXIT_WRITE         1ull

/* The I/O and MSR permission maps (15.10.1, 15.11): every bit set, every access exits. */
#define SVM_IOPM_BYTES             (12 * 1024)
#define SVM_MSRPM_BYTES            (8 * 1024)

/* Exit codes (appendix C, table C-1). */
enum svm_exit_code {
	SVM_EXIT_READ_CR0 = 0x000,
	SVM_EXIT_WRITE_CR0 = 0x010,
	SVM_EXIT_READ_DR0 = 0x020,
	SVM_EXIT_WRITE_DR0 = 0x030,
	SVM_EXIT_EXCEPTION0 = 0x040,
	SVM_EXIT_INTR = 0x060,
	SVM_EXIT_NMI = 0x061,
	SVM_EXIT_SMI = 0x062,
	SVM_EXIT_INIT = 0x063,
	SVM_EXIT_VINTR = 0x064,
	SVM_EXIT_RDTSC = 0x06e,
	SVM_EXIT_RDPMC = 0x06f,
	SVM_EXIT_CPUID = 0x072,
	SVM_EXIT_INVD = 0x076,
	SVM_EXIT_PAUSE = 0x077,
	SVM_EXIT_HLT = 0x078,
	SVM_EXIT_INVLPGA = 0x07a,
	SVM_EXIT_IOIO = 0x07b,
	SVM_EXIT_MSR = 0x07c,
	SVM_EXIT_TASK_SWITCH = 0x07d,
	SVM_EXIT_SHUTDOWN = 0x07f,
	SVM_EXIT_VMRUN = 0x080,
	SVM_EXIT_VMMCALL = 0x081,
	SVM_EXIT_VMLOAD = 0x082,
	SVM_EXIT_VMSAVE = 0x083,
	SVM_EXIT_STGI = 0x084,
	SVM_EXIT_CLGI = 0x085,
	SVM_EXIT_SKINIT = 0x086,
	SVM_EXIT_RDTSCP = 0x087,
	SVM_EXIT_WBINVD = 0x089,
	SVM_EXIT_MONITOR = 0x08a,
	SVM_EXIT_MWAIT = 0x08b,
	SVM_EXIT_MWAIT_ARMED = 0x08c,
	SVM_EXIT_XSETBV = 0x08d,
	SVM_EXIT_CODE_TABLE = 0x090,   /* codes below this are dispatched through a table */
	SVM_EXIT_NPF = 0x400,
};
/* VMRUN refused the VMCB: EXITCODE -1 (QEMU writes it as 32 bits: compare the low half). */
#define SVM_EXIT_INVALID_LOW32     0xffffffffu

#define SVM_CR_COUNT 16
#define SVM_DR_COUNT 16

#endif
