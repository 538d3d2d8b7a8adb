/* The MMIO instruction decoder (contract in mmio_decode.h; Intel SDM Vol. 2 ch. 2). */
#include "arch/x86/mmio_decode.h"

#include <string.h>

#include "kernel/lib/errors.h"

/* Prefixes and opcodes (SDM Vol. 2 2.1.1, 2.2.1, Appendix A) */
#define PREFIX_OPERAND_SIZE 0x66
#define REX_FIRST    0x40
#define REX_LAST     0x4f
#define REX_W        0x08
#define REX_R        0x04
#define REX_X        0x02   /* SIB index: no effect on length or registers used here */
#define REX_B        0x01   /* ModRM.rm / SIB base: likewise */
#define OP_TWO_BYTE  0x0f
#define OP_MOV_RM8_R8   0x88
#define OP_MOV_RM_R     0x89
#define OP_MOV_R8_RM8   0x8a
#define OP_MOV_R_RM     0x8b
#define OP_MOV_RM8_IMM8 0xc6
#define OP_MOV_RM_IMM   0xc7
#define OP2_MOVZX_R_RM8  0xb6
#define OP2_MOVZX_R_RM16 0xb7

/* ModRM and SIB (SDM Vol. 2 2.1.5, Tables 2-2 and 2-3) */
#define MODRM_MOD(m) ((m) >> 6)
#define MODRM_REG(m) (((m) >> 3) & 7u)
#define MODRM_RM(m)  ((m) & 7u)
#define SIB_BASE(s)  ((s) & 7u)
#define MOD_NO_DISP  0u
#define MOD_DISP8    1u
#define MOD_DISP32   2u
#define MOD_REGISTER 3u
#define RM_SIB       4u
#define RM_RIP_REL   5u   /* with mod 0: RIP + disp32 in 64-bit mode */
#define SIB_NO_BASE  5u   /* with mod 0: disp32, no base */
#define HIGH_BYTE_FIRST 4u   /* reg 4-7 of an 8-bit operand without REX: AH, CH, DH, BH */

static char reason[96];

/* "MMIO decode: <what> 0x<byte>" in a static buffer (one decode at a time). */
static int refuse_byte(const char **why, const char *what, uint8_t byte, int err)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	const char *prefix = "MMIO decode: ";

	while (*prefix)
		reason[n++] = *prefix++;
	while (*what && n < sizeof(reason) - 6)
		reason[n++] = *what++;
	reason[n++] = ' ';
	reason[n++] = '0';
	reason[n++] = 'x';
	reason[n++] = hex[byte >> 4];
	reason[n++] = hex[byte & 0xf];
	reason[n] = '\0';
	if (why)
		*why = reason;
	return err;
}

static int refuse(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

/* Bytes of ModRM, SIB and displacement, or 0 for a register operand. */
static int modrm_bytes(const uint8_t *b, size_t avail, size_t at, const char **why)
{
	uint8_t modrm = b[at];
	unsigned mod = MODRM_MOD(modrm), rm = MODRM_RM(modrm);
	size_t n = 1;

	if (mod == MOD_REGISTER)
		return refuse_byte(why, "a register operand, not memory: ModRM", modrm, FERR_NOTSUP);
	if (rm == RM_SIB) {
		if (at + 1 >= avail)
			return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);
		if (mod == MOD_NO_DISP && SIB_BASE(b[at + 1]) == SIB_NO_BASE)
			n += 4;
		n++;
	} else if (mod == MOD_NO_DISP && rm == RM_RIP_REL) {
		n += 4;
	}
	if (mod == MOD_DISP8)
		n += 1;
	else if (mod == MOD_DISP32)
		n += 4;
	return (int)n;
}

int mmio_decode(const uint8_t *bytes, size_t avail, struct mmio_insn *out, const char **why)
{
	size_t at = 0;
	bool opsize = false;
	uint8_t rex = 0;

	if (!bytes)
		avail = 0;
	if (avail > MMIO_INSN_MAX_BYTES)
		avail = MMIO_INSN_MAX_BYTES;
	memset(out, 0, sizeof(*out));

	/* Prefixes: 66 (once), then at most one REX, which must come last. */
	for (;;) {
		if (at >= avail)
			return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);
		uint8_t b = bytes[at];
		if (b == PREFIX_OPERAND_SIZE && !opsize && !rex) {
			opsize = true;
			at++;
		} else if (b >= REX_FIRST && b <= REX_LAST && !rex) {
			rex = b;
			at++;
		} else if (b == PREFIX_OPERAND_SIZE || (b >= REX_FIRST && b <= REX_LAST)) {
			return refuse_byte(why, "a repeated or misplaced prefix", b, FERR_NOTSUP);
		} else {
			break;
		}
	}

	uint8_t op = bytes[at++];
	uint8_t op2 = 0;
	if (op == OP_TWO_BYTE) {
		if (at >= avail)
			return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);
		op2 = bytes[at++];
		if (op2 != OP2_MOVZX_R_RM8 && op2 != OP2_MOVZX_R_RM16)
			return refuse_byte(why, "two-byte opcode not in the whitelist: 0x0f", op2, FERR_NOTSUP);
	} else if (op != OP_MOV_RM8_R8 && op != OP_MOV_RM_R && op != OP_MOV_R8_RM8 &&
		   op != OP_MOV_R_RM && op != OP_MOV_RM8_IMM8 && op != OP_MOV_RM_IMM) {
		return refuse_byte(why, "opcode (or prefix) not in the whitelist:", op, FERR_NOTSUP);
	}
	if (at >= avail)
		return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);

	uint8_t modrm = bytes[at];
	int operand = modrm_bytes(bytes, avail, at, why);
	if (operand < 0)
		return operand;
	at += (size_t)operand;

	/* The operand size of the word forms: REX.W 8, else 66 2, else 4. */
	uint8_t word = (rex & REX_W) ? 8 : opsize ? 2 : 4;
	unsigned reg = MODRM_REG(modrm) | ((rex & REX_R) ? 8u : 0u);

	switch (op2 ? op2 : op) {
	case OP_MOV_RM8_R8:
	case OP_MOV_R8_RM8:
		out->size = 1;
		out->dest_size = 1;
		out->write = op == OP_MOV_RM8_R8;
		break;
	case OP_MOV_RM_R:
	case OP_MOV_R_RM:
		out->size = word;
		out->dest_size = word;
		out->write = op == OP_MOV_RM_R;
		break;
	case OP_MOV_RM8_IMM8:
	case OP_MOV_RM_IMM:
		if (MODRM_REG(modrm) != 0)
			return refuse_byte(why, "C6/C7 with a ModRM.reg other than /0: ModRM", modrm,
					   FERR_NOTSUP);
		out->write = true;
		out->has_imm = true;
		out->size = op == OP_MOV_RM8_IMM8 ? 1 : word;
		reg = 0;
		break;
	case OP2_MOVZX_R_RM8:
	case OP2_MOVZX_R_RM16:
		out->size = op2 == OP2_MOVZX_R_RM8 ? 1 : 2;
		out->dest_size = word;
		out->zero_extend = true;
		break;
	}

	if (out->has_imm) {
		/* imm8, imm16 (66) or imm32 (also with REX.W, sign-extended to 64 bits). */
		unsigned imm_bytes = out->size == 8 ? 4 : out->size;
		uint64_t imm = 0;
		if (at + imm_bytes > avail)
			return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);
		for (unsigned i = 0; i < imm_bytes; i++)
			imm |= (uint64_t)bytes[at + i] << (8 * i);
		if (out->size == 8 && (imm & 0x80000000ull))
			imm |= 0xffffffff00000000ull;
		out->imm = imm;
		at += imm_bytes;
	}
	if (at > avail)
		return refuse(why, "MMIO decode: the bytes end inside the instruction", FERR_INVAL);

	/* An 8-bit register operand without REX: 4-7 are AH, CH, DH, BH. */
	if (!out->has_imm && out->size == 1 && !out->zero_extend && !rex && reg >= HIGH_BYTE_FIRST) {
		reg -= HIGH_BYTE_FIRST;
		out->high_byte = true;
	}
	out->reg = (uint8_t)reg;
	out->length = (uint8_t)at;
	if (why)
		*why = NULL;
	return 0;
}

static uint64_t low_bytes(uint64_t v, unsigned bytes)
{
	return bytes >= 8 ? v : v & ((1ull << (8 * bytes)) - 1);
}

uint64_t mmio_store_value(const struct mmio_insn *in, uint64_t reg_value)
{
	if (in->has_imm)
		return low_bytes(in->imm, in->size);
	if (in->high_byte)
		return (reg_value >> 8) & 0xff;
	return low_bytes(reg_value, in->size);
}

uint64_t mmio_load_result(const struct mmio_insn *in, uint64_t old_value, uint64_t loaded)
{
	uint64_t v = low_bytes(loaded, in->size);   /* zero-extended for movzx, exact for mov */

	if (in->high_byte)
		return (old_value & ~0xff00ull) | v << 8;
	switch (in->dest_size) {
	case 1:
	case 2:   /* 8- and 16-bit destinations keep the register's other bits */
		return (old_value & ~low_bytes(~0ull, in->dest_size)) | v;
	default:  /* 32-bit destinations clear bits 63:32; 64-bit ones take all */
		return v;
	}
}
