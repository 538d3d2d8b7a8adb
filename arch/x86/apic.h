/*
 * The architectural facts of the x86 interrupt controllers, one home for them: the
 * local APIC in xAPIC mode (Intel SDM Vol. 3A ch. 11 "Advanced Programmable Interrupt
 * Controller": 11.4.1 the register map, Table 11-1; 11.5.1 the LVT; 11.5.4 the timer;
 * 11.6.1 the ICR; 11.8 priorities and EOI) and the I/O APIC (Intel 82093AA data sheet,
 * 3.0 "Register Description"). Constants only; the models are kernel/vdev/lapic.c and
 * kernel/vdev/ioapic.c. Portable.
 */
#ifndef FERRY_ARCH_X86_APIC_H
#define FERRY_ARCH_X86_APIC_H

/* ---- local APIC ------------------------------------------------------------------ */
#define APIC_DEFAULT_BASE 0xfee00000u   /* SDM 11.4.1: after reset */
#define APIC_PAGE_BYTES   0x1000u
#define APIC_REG_STRIDE   0x10u         /* registers are 16-byte aligned, accessed 32 bits wide */

/* IA32_APIC_BASE (MSR 0x1B, SDM 11.4.4, Figure 11-5) */
#define MSR_IA32_APIC_BASE     0x01bu
#define APIC_BASE_BSP          (1ull << 8)
#define APIC_BASE_X2APIC       (1ull << 10)   /* EXTD */
#define APIC_BASE_ENABLE       (1ull << 11)
#define APIC_BASE_ADDRESS_MASK 0xfffff000ull  /* bits 35:12 on 36-bit parts; Ferry keeps the default */
#define MSR_IA32_TSC_DEADLINE  0x6e0u         /* SDM 11.5.4.1 */

/* Register offsets from the base (SDM Table 11-1) */
#define APIC_ID        0x020u   /* bits 31:24 */
#define APIC_VERSION   0x030u
#define APIC_TPR       0x080u
#define APIC_APR       0x090u
#define APIC_PPR       0x0a0u
#define APIC_EOI       0x0b0u
#define APIC_RRD       0x0c0u
#define APIC_LDR       0x0d0u   /* bits 31:24 */
#define APIC_DFR       0x0e0u   /* bits 31:28: 1111 flat, 0000 cluster; 27:0 read as ones */
#define APIC_SVR       0x0f0u
#define APIC_ISR       0x100u   /* eight registers, 32 vectors each, 0x10 apart */
#define APIC_TMR       0x180u
#define APIC_IRR       0x200u
#define APIC_ESR       0x280u
#define APIC_LVT_CMCI  0x2f0u
#define APIC_ICR_LOW   0x300u
#define APIC_ICR_HIGH  0x310u   /* destination in bits 31:24 */
#define APIC_LVT_TIMER 0x320u
#define APIC_LVT_THERMAL 0x330u
#define APIC_LVT_PERF  0x340u
#define APIC_LVT_LINT0 0x350u
#define APIC_LVT_LINT1 0x360u
#define APIC_LVT_ERROR 0x370u
#define APIC_TIMER_INITIAL 0x380u
#define APIC_TIMER_CURRENT 0x390u
#define APIC_TIMER_DIVIDE  0x3e0u

#define APIC_VECTOR_REGS   8        /* ISR, TMR and IRR: 8 x 32 bits */
#define APIC_VECTORS       256
#define APIC_FIRST_LEGAL_VECTOR 16  /* 0-15 are reserved: delivering one is an error */

/* Version register (SDM 11.4.8): version in 7:0, max LVT entry in 23:16, bit 24 when
 * EOI-broadcast suppression is supported. 0x14: an integrated APIC. */
#define APIC_VERSION_INTEGRATED 0x14u
#define APIC_VERSION_MAX_LVT_SHIFT 16

#define APIC_ID_SHIFT  24
#define APIC_LDR_SHIFT 24
#define APIC_DFR_MODEL_SHIFT 28
#define APIC_DFR_FLAT    0xfu
#define APIC_DFR_CLUSTER 0x0u
#define APIC_DFR_RESERVED_ONES 0x0fffffffu

/* Spurious-interrupt vector register (SDM 11.9) */
#define APIC_SVR_VECTOR_MASK 0xffu
#define APIC_SVR_ENABLE      (1u << 8)
#define APIC_SVR_FOCUS_OFF   (1u << 9)

/* Task and processor priority: the class is bits 7:4 (SDM 11.8.3) */
#define APIC_PRIORITY_MASK  0xffu
#define APIC_PRIORITY_CLASS 0xf0u

/* Error status register bits (SDM 11.5.3, Figure 11-9) */
#define APIC_ESR_SEND_ILLEGAL_VECTOR    (1u << 5)
#define APIC_ESR_RECEIVE_ILLEGAL_VECTOR (1u << 6)
#define APIC_ESR_ILLEGAL_REGISTER       (1u << 7)

/* LVT entries (SDM 11.5.1, Figure 11-8) */
#define APIC_LVT_VECTOR_MASK    0xffu
#define APIC_LVT_DELIVERY_SHIFT 8
#define APIC_LVT_DELIVERY_MASK  (7u << 8)
#define APIC_LVT_DELIVERY_STATUS (1u << 12)
#define APIC_LVT_POLARITY_LOW   (1u << 13)
#define APIC_LVT_REMOTE_IRR     (1u << 14)
#define APIC_LVT_LEVEL          (1u << 15)
#define APIC_LVT_MASKED         (1u << 16)
#define APIC_LVT_TIMER_MODE_SHIFT 17
#define APIC_LVT_TIMER_MODE_MASK (3u << 17)
#define APIC_TIMER_ONE_SHOT     0u
#define APIC_TIMER_PERIODIC     1u
#define APIC_TIMER_TSC_DEADLINE 2u

/* Divide configuration (SDM 11.5.4, Figure 11-10): bits 0, 1 and 3. */
#define APIC_DIVIDE_MASK 0xbu

/* Delivery modes, shared by the ICR, the LVT and the I/O APIC (SDM 11.6.1) */
#define APIC_DELIVERY_FIXED    0u
#define APIC_DELIVERY_LOWEST   1u
#define APIC_DELIVERY_SMI      2u
#define APIC_DELIVERY_NMI      4u
#define APIC_DELIVERY_INIT     5u
#define APIC_DELIVERY_STARTUP  6u
#define APIC_DELIVERY_EXTINT   7u

/* Interrupt command register, low dword (SDM 11.6.1, Figure 11-12) */
#define APIC_ICR_VECTOR_MASK     0xffu
#define APIC_ICR_DELIVERY_SHIFT  8
#define APIC_ICR_DELIVERY_MASK   (7u << 8)
#define APIC_ICR_LOGICAL         (1u << 11)
#define APIC_ICR_BUSY            (1u << 12)
#define APIC_ICR_ASSERT          (1u << 14)
#define APIC_ICR_LEVEL           (1u << 15)
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_ICR_SHORTHAND_MASK  (3u << 18)
#define APIC_ICR_WRITABLE        0x000ccfffu   /* vector, mode, dest mode, level, trigger, shorthand */
#define APIC_SHORTHAND_NONE      0u
#define APIC_SHORTHAND_SELF      1u
#define APIC_SHORTHAND_ALL       2u
#define APIC_SHORTHAND_OTHERS    3u
#define APIC_DEST_SHIFT          24
#define APIC_BROADCAST_ID        0xffu

/* ---- I/O APIC (82093AA data sheet) -------------------------------------------------- */
#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_PAGE_BYTES   0x1000u
#define IOAPIC_REGSEL 0x00u   /* index register (8 bits) */
#define IOAPIC_WINDOW 0x10u   /* data window for the selected register */

#define IOAPIC_REG_ID      0x00u   /* ID in bits 27:24 */
#define IOAPIC_REG_VERSION 0x01u   /* version 7:0, max redirection entry 23:16 */
#define IOAPIC_REG_ARB     0x02u   /* arbitration ID in bits 27:24 */
#define IOAPIC_REG_REDIR   0x10u   /* entry n: low dword 0x10+2n, high dword 0x11+2n */
#define IOAPIC_ID_SHIFT    24
#define IOAPIC_ID_MASK     (0xfu << 24)
#define IOAPIC_VERSION_82093AA 0x11u   /* no EOI register: remote IRR clears on a LAPIC EOI broadcast */
#define IOAPIC_VERSION_MAX_ENTRY_SHIFT 16

/* Redirection entry (data sheet 3.2.4) */
#define IOAPIC_REDIR_VECTOR_MASK    0xffull
#define IOAPIC_REDIR_DELIVERY_SHIFT 8
#define IOAPIC_REDIR_DELIVERY_MASK  (7ull << 8)
#define IOAPIC_REDIR_LOGICAL        (1ull << 11)
#define IOAPIC_REDIR_PENDING        (1ull << 12)   /* delivery status (read-only) */
#define IOAPIC_REDIR_POLARITY_LOW   (1ull << 13)
#define IOAPIC_REDIR_REMOTE_IRR     (1ull << 14)   /* read-only */
#define IOAPIC_REDIR_LEVEL          (1ull << 15)
#define IOAPIC_REDIR_MASKED         (1ull << 16)
#define IOAPIC_REDIR_DEST_SHIFT     56
#define IOAPIC_REDIR_READ_ONLY      (IOAPIC_REDIR_PENDING | IOAPIC_REDIR_REMOTE_IRR)
#define IOAPIC_REDIR_LOW_WRITABLE   0x1afffull     /* vector..mask, less the read-only bits */
#define IOAPIC_REDIR_HIGH_WRITABLE  0xff000000ull  /* destination, bits 63:56 */

#endif
