/* Host tests of the CR/DR move decoder (arch/x86/svm/insn.c); the guest page walk it reads through is test_guest_walk.c's. */
#include "check.h"
#include "arch/x86/svm/insn.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"

#include <string.h>

static int decode(const uint8_t *b, unsigned n, bool mode64, uint8_t opcode, unsigned *gpr, unsigned *len)
{
	struct insn_mov_crdr d = { 99, 99 };
	int err = insn_decode_mov_crdr(b, n, mode64, opcode, &d);
	*gpr = d.gpr;
	*len = d.length;
	return err;
}

TEST(mov_cr_and_dr_decode)
{
	unsigned gpr, len;
	static const uint8_t mov_cr4_rax[] = { 0x0f, 0x22, 0xe0 };
	CHECK_EQ_I(decode(mov_cr4_rax, 3, true, OPCODE_MOV_TO_CR, &gpr, &len), 0);
	CHECK(gpr == GPR_RAX && len == 3);
	static const uint8_t mov_cr4_r15[] = { 0x41, 0x0f, 0x22, 0xe7 };
	CHECK_EQ_I(decode(mov_cr4_r15, 4, true, OPCODE_MOV_TO_CR, &gpr, &len), 0);
	CHECK(gpr == GPR_R15 && len == 4);
	static const uint8_t mov_rbx_cr4[] = { 0x0f, 0x20, 0xe3 };
	CHECK_EQ_I(decode(mov_rbx_cr4, 3, true, OPCODE_MOV_FROM_CR, &gpr, &len), 0);
	CHECK(gpr == GPR_RBX && len == 3);
	static const uint8_t mov_dr7_rsi[] = { 0x0f, 0x23, 0xfe };
	CHECK_EQ_I(decode(mov_dr7_rsi, 3, true, OPCODE_MOV_TO_DR, &gpr, &len), 0);
	CHECK(gpr == GPR_RSI && len == 3);
	static const uint8_t mov_r9_dr0[] = { 0x49, 0x0f, 0x21, 0xc1 };
	CHECK_EQ_I(decode(mov_r9_dr0, 4, true, OPCODE_MOV_FROM_DR, &gpr, &len), 0);
	CHECK(gpr == GPR_R9 && len == 4);
	/* Prefixes: LOCK MOV CR0 (CR8 on AMD), and a segment prefix; the mod field is ignored. */
	static const uint8_t lock_mov[] = { 0xf0, 0x0f, 0x22, 0xc2 };
	CHECK_EQ_I(decode(lock_mov, 4, true, OPCODE_MOV_TO_CR, &gpr, &len), 0);
	CHECK(gpr == GPR_RDX && len == 4);
	static const uint8_t prefixed[] = { 0x2e, 0x66, 0x44, 0x0f, 0x22, 0x26 };
	CHECK_EQ_I(decode(prefixed, 6, true, OPCODE_MOV_TO_CR, &gpr, &len), 0);
	CHECK(gpr == GPR_RSI && len == 6);
}

TEST(other_bytes_are_refused)
{
	unsigned gpr, len;
	static const uint8_t mov_cr4_rax[] = { 0x0f, 0x22, 0xe0 };
	CHECK_EQ_I(decode(mov_cr4_rax, 3, true, OPCODE_MOV_FROM_CR, &gpr, &len), FERR_INVAL);
	CHECK_EQ_I(decode(mov_cr4_rax, 2, true, OPCODE_MOV_TO_CR, &gpr, &len), FERR_INVAL);
	static const uint8_t cpuid[] = { 0x0f, 0xa2, 0x90 };
	CHECK_EQ_I(decode(cpuid, 3, true, OPCODE_MOV_TO_CR, &gpr, &len), FERR_INVAL);
	/* Outside 64-bit mode 0x41 is INC ECX, not REX. */
	static const uint8_t rex_like[] = { 0x41, 0x0f, 0x22, 0xe0 };
	CHECK_EQ_I(decode(rex_like, 4, false, OPCODE_MOV_TO_CR, &gpr, &len), FERR_INVAL);
	/* Fifteen prefixes leave no room for the instruction. */
	uint8_t many[INSN_MAX_BYTES + 3];
	memset(many, 0x66, sizeof(many));
	many[INSN_MAX_BYTES] = 0x0f, many[INSN_MAX_BYTES + 1] = 0x22, many[INSN_MAX_BYTES + 2] = 0xe0;
	CHECK_EQ_I(decode(many, sizeof(many), true, OPCODE_MOV_TO_CR, &gpr, &len), FERR_INVAL);
}

int main(void)
{
	return run_tests();
}
