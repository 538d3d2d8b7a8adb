/* The CR/DR move decoder; see insn.h. */
#include "arch/x86/svm/insn.h"
#include "kernel/lib/errors.h"

#define PREFIX_MAX        (INSN_MAX_BYTES - 3)  /* room left for 0F, the opcode and ModRM */
#define REX_FIRST         0x40
#define REX_LAST          0x4f
#define REX_B             0x1                   /* extends ModRM.rm */
#define OPCODE_ESCAPE     0x0f
#define MODRM_RM(m)       ((m) & 7u)

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e:   /* segment overrides */
	case 0x64: case 0x65:
	case 0x66: case 0x67:                         /* operand and address size */
	case 0xf0: case 0xf2: case 0xf3:              /* LOCK (MOV CR8 on AMD), REPs */
		return true;
	default:
		return false;
	}
}

int insn_decode_mov_crdr(const uint8_t *bytes, unsigned len, bool mode64, uint8_t opcode,
			 struct insn_mov_crdr *out)
{
	unsigned i = 0, rex = 0;

	while (i < len && i < PREFIX_MAX && legacy_prefix(bytes[i]))
		i++;
	/* A REX prefix counts only right before the opcode, and only in 64-bit mode. */
	if (mode64 && i < len && bytes[i] >= REX_FIRST && bytes[i] <= REX_LAST)
		rex = bytes[i++];
	if (len < i + 3 || bytes[i] != OPCODE_ESCAPE || bytes[i + 1] != opcode)
		return FERR_INVAL;
	uint8_t modrm = bytes[i + 2];
	/* The register operand is always ModRM.rm, whatever the mod field says (APM Vol. 3, MOV CRn). */
	out->gpr = MODRM_RM(modrm) | (rex & REX_B ? 8u : 0u);
	out->length = i + 3;
	return FERR_OK;
}
