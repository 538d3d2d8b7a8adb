/*
 * The MMIO instruction decoder: given the bytes of the guest instruction whose memory
 * access exited (an EPT violation or nested page fault on a device page: the exit gives
 * the guest-physical address, the walker in guest_walk.h fetches the bytes), says what
 * the access is: its size, its direction, the register or immediate involved and the
 * instruction's length, so that Ferry can perform it on the device model and move RIP on.
 *
 * A whitelist, not an emulator (Intel SDM Vol. 2 for each opcode). 64-bit mode only; the
 * operand must be memory (ModRM.mod != 3), with any ModRM/SIB/displacement form
 * (RIP-relative and absolute included: the address itself comes from the exit):
 *
 *   88 /r       mov r/m8, r8          89 /r      mov r/m16/32/64, r
 *   8A /r       mov r8, r/m8          8B /r      mov r16/32/64, r/m
 *   C6 /0 ib    mov r/m8, imm8        C7 /0      mov r/m16/32, imm16/32; REX.W: imm32 sign-extended
 *   0F B6 /r    movzx r16/32/64, r/m8     0F B7 /r   movzx r32/64, r/m16
 *
 * with an operand-size prefix (66) and REX (W, R, X, B; AH..BH without REX, SPL..DIL
 * with it). What Linux 6.1 compiles its accessors to (arch/x86/include/asm/io.h,
 * build_mmio_read/build_mmio_write: one `mov` with an "m" operand and a register):
 * readb 8A, readw 66 8B, readl 8B, readq REX.W 8B; writeb 88, writew 66 89, writel 89,
 * writeq REX.W 89; the xAPIC's native_apic_mem_write/read are `movl` 89/8B to a fixmap
 * address (absolute disp32 through a SIB byte); plain C stores of constants to an
 * ioremapped pointer give C6/C7, and narrow reads into wider variables give movzx.
 *
 * Anything else (other opcodes, a register operand, prefixes but 66 and REX, a REX
 * not next to the opcode, more than 15 bytes) is FERR_NOTSUP with a reason naming the
 * byte, so that the VM layer stops that guest with a clear message; bytes that end
 * before the instruction does are FERR_INVAL. The input is hostile and every read of it
 * is bounds-checked. Portable (image and host).
 */
#ifndef FERRY_ARCH_X86_MMIO_DECODE_H
#define FERRY_ARCH_X86_MMIO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMIO_INSN_MAX_BYTES 15   /* SDM Vol. 2 2.3.11: the architectural limit */

/* General-purpose registers in encoding order (as enum vm_gpr in kernel/vm/snapshot.h). */
enum mmio_gpr {
	MMIO_RAX, MMIO_RCX, MMIO_RDX, MMIO_RBX, MMIO_RSP, MMIO_RBP, MMIO_RSI, MMIO_RDI,
	MMIO_R8, MMIO_R9, MMIO_R10, MMIO_R11, MMIO_R12, MMIO_R13, MMIO_R14, MMIO_R15,
	MMIO_GPR_COUNT
};

struct mmio_insn {
	uint8_t length;       /* instruction bytes: RIP moves on by this much */
	uint8_t size;         /* bytes accessed in memory: 1, 2, 4 or 8 */
	bool write;           /* a store to the device; else a load from it */
	bool has_imm;         /* a store of `imm` (C6, C7); else of register `reg` */
	uint64_t imm;         /* the immediate, already truncated to `size` bytes */
	uint8_t reg;          /* enum mmio_gpr: the source of a store or the destination of a load */
	bool high_byte;       /* the register is AH, CH, DH or BH (bits 15:8 of reg 0-3) */
	uint8_t dest_size;    /* loads: register bytes written (4 clears bits 63:32 as x86-64 does) */
	bool zero_extend;     /* a movzx load */
};

/* Decodes bytes[0..avail). Returns 0 and fills *out, FERR_NOTSUP (not in the whitelist)
 * or FERR_INVAL (the bytes end before the instruction), with *why. */
int mmio_decode(const uint8_t *bytes, size_t avail, struct mmio_insn *out, const char **why);

/* A store's data: `size` bytes taken from the register's value (bits 15:8 for AH..BH)
 * or the immediate. reg_value is the full value of register in->reg. */
uint64_t mmio_store_value(const struct mmio_insn *in, uint64_t reg_value);

/* A load's effect: register in->reg's new value from its old one and the `size` bytes
 * read from the device. */
uint64_t mmio_load_result(const struct mmio_insn *in, uint64_t old_value, uint64_t loaded);

#endif
