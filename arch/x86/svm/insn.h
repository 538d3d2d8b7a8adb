/*
 * The guest instructions the SVM backend must read itself: without decode
 * assists (APM Vol. 2, 15.33; QEMU's TCG has none) a CR or DR intercept says
 * which register and which direction, but not which general-purpose register
 * the MOV names, nor how long it is. So the backend translates the guest's
 * CS:RIP through the guest's own page tables (every paging mode: none, 32-bit,
 * PAE, 4-level; APM Vol. 2, 5.2-5.3), fetches the bytes from guest RAM, and
 * decodes MOV to or from CRn and DRn (0F 20-23 /r with legacy and REX prefixes;
 * APM Vol. 3, "MOV CRn", "MOV DRn").
 *
 * A guest can change its tables under a stale TLB and make Ferry read other
 * bytes than the CPU ran: that only ever misleads the guest about itself, since
 * the value written is checked by the same policy whichever register it came from.
 *
 * Portable (image and host): guest RAM is a plain byte range here.
 */
#ifndef FERRY_ARCH_X86_SVM_INSN_H
#define FERRY_ARCH_X86_SVM_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define INSN_MAX_BYTES 15   /* the longest x86 instruction */

/* Guest RAM as the host sees it: GPA [0, bytes) at ram. */
struct guest_ram {
	const uint8_t *ram;
	uint64_t bytes;
};

/* The registers that decide how the guest translates and decodes. */
struct guest_paging {
	uint64_t cr0, cr3, cr4, efer;
	uint64_t cs_base;
	bool mode64;           /* 64-bit mode: EFER.LMA and CS.L */
};

/*
 * Translates a linear address as the guest's paging would, for a read (access
 * bits are neither checked nor set). FERR_NOENT when it is not mapped or a
 * table lies outside guest RAM.
 */
int guest_translate(const struct guest_paging *p, const struct guest_ram *m, uint64_t linear,
		    uint64_t *gpa);

/* Copies up to max (at most INSN_MAX_BYTES) bytes at CS:rip into buf; returns how many were mapped. */
unsigned guest_fetch_insn(const struct guest_paging *p, const struct guest_ram *m, uint64_t rip,
			  uint8_t *buf, unsigned max);

/* Second opcode bytes of the moves (0F xx). */
#define OPCODE_MOV_FROM_CR 0x20
#define OPCODE_MOV_FROM_DR 0x21
#define OPCODE_MOV_TO_CR   0x22
#define OPCODE_MOV_TO_DR   0x23

struct insn_mov_crdr {
	unsigned gpr;      /* the general-purpose register, GPR_* numbering */
	unsigned length;   /* bytes, prefixes included */
};

/*
 * Decodes the bytes as the MOV whose second opcode byte is `opcode`. FERR_INVAL
 * when they are another instruction or run out (len bytes were fetched).
 */
int insn_decode_mov_crdr(const uint8_t *bytes, unsigned len, bool mode64, uint8_t opcode,
			 struct insn_mov_crdr *out);

#endif
