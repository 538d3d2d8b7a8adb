/*
 * The MOV to or from CRn and DRn as the SVM backend reads it itself: without
 * decode assists (APM Vol. 2, 15.33; QEMU's TCG has none) a CR or DR intercept
 * says which register and which direction, but not which general-purpose
 * register the MOV names, nor how long it is. The backend fetches the bytes at
 * the guest's CS:RIP through the guest's own page tables (arch/x86/guest_walk.h)
 * and decodes them here: 0F 20-23 /r with legacy prefixes and, in 64-bit mode,
 * REX (APM Vol. 3, "MOV CRn", "MOV DRn").
 *
 * A guest can change its tables under a stale TLB and make Ferry read other
 * bytes than the CPU ran: that only ever misleads the guest about itself, since
 * the value written is checked by the same policy whichever register it came from.
 *
 * Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_SVM_INSN_H
#define FERRY_ARCH_X86_SVM_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define INSN_MAX_BYTES 15   /* the longest x86 instruction */

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
