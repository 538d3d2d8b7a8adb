/*
 * The architectural bits a guest's register state is built from and checked against,
 * one home for the portable code that builds or reads guest state (the Linux loader, the
 * guest page-table walker): CR0, CR4, EFER and RFLAGS bits (Intel SDM Vol. 3A 2.5, 2.2.1),
 * segment access rights in the VMX format (SDM Vol. 3C 25.4.1, Table 25-2, whose low byte
 * is a descriptor's access byte and bits 15:12 its flags nibble) and the encoding of a
 * code, data or system descriptor (SDM Vol. 3A 3.4.5, Figure 3-8). Constants and one
 * encoder; portable. (arch/x86/cpu.h holds the same CR bits for Ferry's own CPU, with
 * identical definitions.)
 */
#ifndef FERRY_ARCH_X86_X86_REGS_H
#define FERRY_ARCH_X86_X86_REGS_H

#include <stdint.h>

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)

#define CR4_PAE   (1ull << 5)
#define CR4_LA57  (1ull << 12)   /* 5-level paging */
#define CR4_SMEP  (1ull << 20)
#define CR4_SMAP  (1ull << 21)

#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define RFLAGS_RESERVED_ONE (1ull << 1)
#define RFLAGS_IF           (1ull << 9)

/* Segment access rights (VMX format; the low byte doubles as the descriptor's). */
#define SEG_TYPE_CODE_EXEC_READ_ACCESSED  0xbu
#define SEG_TYPE_DATA_READ_WRITE_ACCESSED 0x3u
#define SEG_TYPE_TSS64_BUSY               0xbu
#define SEG_S_CODE_OR_DATA (1u << 4)
#define SEG_DPL0           (0u << 5)
#define SEG_PRESENT        (1u << 7)
#define SEG_LONG_MODE      (1u << 13)
#define SEG_DEFAULT_32     (1u << 14)
#define SEG_GRANULARITY_4K (1u << 15)

#define SEG_CODE64_ACCESS (SEG_TYPE_CODE_EXEC_READ_ACCESSED | SEG_S_CODE_OR_DATA | SEG_DPL0 | \
			   SEG_PRESENT | SEG_LONG_MODE | SEG_GRANULARITY_4K)
#define SEG_DATA_ACCESS   (SEG_TYPE_DATA_READ_WRITE_ACCESSED | SEG_S_CODE_OR_DATA | SEG_DPL0 | \
			   SEG_PRESENT | SEG_DEFAULT_32 | SEG_GRANULARITY_4K)
#define SEG_TSS64_ACCESS  (SEG_TYPE_TSS64_BUSY | SEG_DPL0 | SEG_PRESENT)

#define SEG_FLAT_LIMIT_4K 0xfffffu   /* with G: the whole 4 GiB */
#define TSS64_BYTES       104u       /* SDM Vol. 3A 8.7, Figure 8-11 */
#define TSS64_IOMAP_BASE_OFFSET 102u

/* A descriptor: limit 15:0 in bits 15:0, base 23:0 in 39:16, the access byte in 47:40,
 * limit 19:16 in 51:48, the AVL/L/D/G flags (access-rights bits 15:12) in 55:52, base
 * 31:24 in 63:56. A 64-bit TSS descriptor takes a second slot holding base 63:32. */
static inline uint64_t seg_descriptor(uint32_t base, uint32_t limit, uint32_t access)
{
	return (limit & 0xffffull) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)(access & 0xff) << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)((access >> 12) & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

#endif
