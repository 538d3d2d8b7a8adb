/* Host tests of the MMIO instruction decoder (arch/x86/mmio_decode.c): every whitelisted
 * form, encoded by hand from the SDM with its expected decode (the disassembly is in the
 * comment), every truncation of each, and the refusals. */
#include "arch/x86/mmio_decode.h"
#include "check.h"
#include "kernel/lib/errors.h"

struct good_case {
	const char *asm_text;
	uint8_t bytes[15];
	uint8_t length, size, reg, dest_size;
	bool write, has_imm, high_byte, zero_extend;
	uint64_t imm;
};

#define LOAD(s, r, d)   .size = s, .reg = r, .dest_size = d
#define STORE(s, r)     .size = s, .reg = r, .write = true
#define STORE_IMM(s, v) .size = s, .write = true, .has_imm = true, .imm = v

static const struct good_case good[] = {
	/* The xAPIC through its fixmap address (absolute disp32 via SIB, no base, no index). */
	{ "mov eax, [0xffffffffff5fd0b0]", { 0x8b, 0x04, 0x25, 0xb0, 0xd0, 0x5f, 0xff }, 7, LOAD(4, 0, 4) },
	{ "mov [0xffffffffff5fd0b0], eax", { 0x89, 0x04, 0x25, 0xb0, 0xd0, 0x5f, 0xff }, 7, STORE(4, 0) },
	/* readl/writel and their kin through a pointer. */
	{ "mov eax, [rdi]", { 0x8b, 0x07 }, 2, LOAD(4, 0, 4) },
	{ "mov eax, [rdi+0x10]", { 0x8b, 0x47, 0x10 }, 3, LOAD(4, 0, 4) },
	{ "mov eax, [rdi+0x100]", { 0x8b, 0x87, 0x00, 0x01, 0x00, 0x00 }, 6, LOAD(4, 0, 4) },
	{ "mov eax, [r12+8]", { 0x41, 0x8b, 0x44, 0x24, 0x08 }, 5, LOAD(4, 0, 4) },
	{ "mov r13d, [rsi+rcx*4]", { 0x44, 0x8b, 0x2c, 0x8e }, 4, LOAD(4, 13, 4) },
	{ "mov eax, [rax+rcx*4+0x1000]", { 0x8b, 0x84, 0x88, 0x00, 0x10, 0x00, 0x00 }, 7, LOAD(4, 0, 4) },
	{ "mov eax, [rax*1+0xfee000b0]", { 0x8b, 0x04, 0x05, 0xb0, 0x00, 0xe0, 0xfe }, 7, LOAD(4, 0, 4) },
	{ "mov eax, [rip+0x10]", { 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00 }, 6, LOAD(4, 0, 4) },
	{ "mov rax, [rbx]  (readq)", { 0x48, 0x8b, 0x03 }, 3, LOAD(8, 0, 8) },
	{ "mov r15, [r12]", { 0x4d, 0x8b, 0x3c, 0x24 }, 4, LOAD(8, 15, 8) },
	{ "mov ax, [rdi]  (readw)", { 0x66, 0x8b, 0x07 }, 3, LOAD(2, 0, 2) },
	{ "mov rax, [rdi]  (66 and REX.W: W wins)", { 0x66, 0x48, 0x8b, 0x07 }, 4, LOAD(8, 0, 8) },
	{ "mov al, [rdi]  (readb)", { 0x8a, 0x07 }, 2, LOAD(1, 0, 1) },
	{ "mov ah, [rdi]", { 0x8a, 0x27 }, 2, LOAD(1, 0, 1), .high_byte = true },
	{ "mov sil, [rdi]", { 0x40, 0x8a, 0x37 }, 3, LOAD(1, 6, 1) },
	{ "mov r9b, [rdx-1]", { 0x44, 0x8a, 0x4a, 0xff }, 4, LOAD(1, 9, 1) },
	{ "mov [rsi], bl  (writeb)", { 0x88, 0x1e }, 2, STORE(1, 3) },
	{ "mov [rsi], bh", { 0x88, 0x3e }, 2, STORE(1, 3), .high_byte = true },
	{ "mov [rsi+2], ax  (writew)", { 0x66, 0x89, 0x46, 0x02 }, 4, STORE(2, 0) },
	{ "mov [rbp-8], rbx  (writeq)", { 0x48, 0x89, 0x5d, 0xf8 }, 4, STORE(8, 3) },
	{ "mov [rsp], r8", { 0x4c, 0x89, 0x04, 0x24 }, 4, STORE(8, 8) },
	{ "mov [rdi+0x70], edx  (writel)", { 0x89, 0x57, 0x70 }, 3, STORE(4, 2) },
	{ "mov byte [rdi], 1", { 0xc6, 0x07, 0x01 }, 3, STORE_IMM(1, 1) },
	{ "mov dword [rdi], 0", { 0xc7, 0x07, 0x00, 0x00, 0x00, 0x00 }, 6, STORE_IMM(4, 0) },
	{ "mov dword [rdi+0x50], 0x12345678", { 0xc7, 0x47, 0x50, 0x78, 0x56, 0x34, 0x12 }, 7, STORE_IMM(4, 0x12345678) },
	{ "mov word [rdi+4], 0x1234", { 0x66, 0xc7, 0x47, 0x04, 0x34, 0x12 }, 6, STORE_IMM(2, 0x1234) },
	{ "mov qword [rdi], -1", { 0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff }, 7, STORE_IMM(8, 0xffffffffffffffffull) },
	{ "mov qword [rdi], 0x7fffffff", { 0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0x7f }, 7, STORE_IMM(8, 0x7fffffff) },
	{ "mov dword [0xfee000b0], 0", { 0xc7, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0 }, 11, STORE_IMM(4, 0) },
	{ "movzx eax, byte [rdi]", { 0x0f, 0xb6, 0x07 }, 3, LOAD(1, 0, 4), .zero_extend = true },
	{ "movzx eax, word [rdi+2]", { 0x0f, 0xb7, 0x47, 0x02 }, 4, LOAD(2, 0, 4), .zero_extend = true },
	{ "movzx rax, byte [rdi]", { 0x48, 0x0f, 0xb6, 0x07 }, 4, LOAD(1, 0, 8), .zero_extend = true },
	{ "movzx ax, byte [rdi]", { 0x66, 0x0f, 0xb6, 0x07 }, 4, LOAD(1, 0, 2), .zero_extend = true },
	{ "movzx r10d, byte [rdi]  (no high byte with movzx)", { 0x44, 0x0f, 0xb6, 0x17 }, 4, LOAD(1, 10, 4), .zero_extend = true },
	{ "movzx esp, byte [rdi]  (reg 4 is ESP here, not AH)", { 0x0f, 0xb6, 0x27 }, 3, LOAD(1, 4, 4), .zero_extend = true },
};

TEST(every_whitelisted_form_decodes)
{
	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct good_case *c = &good[i];
		struct mmio_insn in;
		const char *why = "unset";
		int err = mmio_decode(c->bytes, sizeof(c->bytes), &in, &why);
		if (err != 0)
			printf("  case %s: %s\n", c->asm_text, why);
		CHECK_EQ_I(err, 0);
		CHECK(why == NULL);
		CHECK_EQ_U(in.length, c->length);
		CHECK_EQ_U(in.size, c->size);
		CHECK_EQ_U(in.write, c->write);
		CHECK_EQ_U(in.has_imm, c->has_imm);
		CHECK_EQ_U(in.imm, c->imm);
		CHECK_EQ_U(in.high_byte, c->high_byte);
		CHECK_EQ_U(in.zero_extend, c->zero_extend);
		if (!c->has_imm)
			CHECK_EQ_U(in.reg, c->reg);
		if (!c->write)
			CHECK_EQ_U(in.dest_size, c->dest_size);
		if (check_current_failures)
			printf("  after case %s\n", c->asm_text);
		/* Exactly `length` bytes are enough; one fewer never is. */
		CHECK_EQ_I(mmio_decode(c->bytes, c->length, &in, NULL), 0);
		for (size_t n = 0; n < c->length; n++)
			CHECK_EQ_I(mmio_decode(c->bytes, n, &in, &why), FERR_INVAL);
	}
}

TEST(everything_else_is_refused_with_a_reason)
{
	static const struct { const char *asm_text; uint8_t bytes[15]; const char *why; } bad[] = {
		{ "mov eax, eax", { 0x89, 0xc0 }, "MMIO decode: a register operand, not memory: ModRM 0xc0" },
		{ "lock mov", { 0xf0, 0x89, 0x07 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0xf0" },
		{ "addr32 mov", { 0x67, 0x8b, 0x07 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0x67" },
		{ "gs: mov", { 0x65, 0x8b, 0x04, 0x25, 0, 0, 0, 0 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0x65" },
		{ "rep movsd", { 0xf3, 0xa5 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0xf3" },
		{ "REX then 66", { 0x48, 0x66, 0x8b, 0x07 }, "MMIO decode: a repeated or misplaced prefix 0x66" },
		{ "66 66", { 0x66, 0x66, 0x8b, 0x07 }, "MMIO decode: a repeated or misplaced prefix 0x66" },
		{ "two REX", { 0x48, 0x41, 0x8b, 0x07 }, "MMIO decode: a repeated or misplaced prefix 0x41" },
		{ "mov dword [rdi+4], imm with /1", { 0xc7, 0x4f, 0x04, 0, 0, 0, 0 }, "MMIO decode: C6/C7 with a ModRM.reg other than /0: ModRM 0x4f" },
		{ "movsx eax, byte [rdi]", { 0x0f, 0xbe, 0x07 }, "MMIO decode: two-byte opcode not in the whitelist: 0x0f 0xbe" },
		{ "add [rdi], eax", { 0x01, 0x07 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0x01" },
		{ "mov eax, moffs", { 0xa1, 0, 0, 0xe0, 0xfe, 0, 0, 0, 0 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0xa1" },
		{ "xchg [rdi], eax", { 0x87, 0x07 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0x87" },
		{ "inc dword [rdi]", { 0xff, 0x07 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0xff" },
		{ "test [rdi], imm", { 0xf6, 0x07, 0x01 }, "MMIO decode: opcode (or prefix) not in the whitelist: 0xf6" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mmio_insn in;
		const char *why = NULL;
		CHECK_EQ_I(mmio_decode(bad[i].bytes, sizeof(bad[i].bytes), &in, &why), FERR_NOTSUP);
		CHECK_STR(why, bad[i].why);
	}
	struct mmio_insn in;
	CHECK_EQ_I(mmio_decode(NULL, 15, &in, NULL), FERR_INVAL);
}

TEST(store_values)
{
	struct mmio_insn in;
	const uint64_t rbx = 0x1122334455667788ull;

	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x88, 0x1e }, 2, &in, NULL), 0);          /* bl */
	CHECK_EQ_U(mmio_store_value(&in, rbx), 0x88);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x88, 0x3e }, 2, &in, NULL), 0);          /* bh */
	CHECK_EQ_U(mmio_store_value(&in, rbx), 0x77);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x66, 0x89, 0x1e }, 3, &in, NULL), 0);    /* bx */
	CHECK_EQ_U(mmio_store_value(&in, rbx), 0x7788);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x89, 0x1e }, 2, &in, NULL), 0);          /* ebx */
	CHECK_EQ_U(mmio_store_value(&in, rbx), 0x55667788);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x48, 0x89, 0x1e }, 3, &in, NULL), 0);    /* rbx */
	CHECK_EQ_U(mmio_store_value(&in, rbx), rbx);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x66, 0xc7, 0x06, 0x34, 0x12 }, 5, &in, NULL), 0);
	CHECK_EQ_U(mmio_store_value(&in, rbx), 0x1234);
}

TEST(load_results)
{
	struct mmio_insn in;
	const uint64_t old = 0xaaaaaaaaaaaaaaaaull;

	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x8a, 0x07 }, 2, &in, NULL), 0);          /* al */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x1ff), 0xaaaaaaaaaaaaaaffull);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x8a, 0x27 }, 2, &in, NULL), 0);          /* ah */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x12), 0xaaaaaaaaaaaa12aaull);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x66, 0x8b, 0x07 }, 3, &in, NULL), 0);    /* ax */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x12345), 0xaaaaaaaaaaaa2345ull);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x8b, 0x07 }, 2, &in, NULL), 0);          /* eax: clears 63:32 */
	CHECK_EQ_U(mmio_load_result(&in, old, 0xfee00000), 0xfee00000);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x48, 0x8b, 0x07 }, 3, &in, NULL), 0);    /* rax */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x0123456789abcdefull), 0x0123456789abcdefull);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x0f, 0xb6, 0x07 }, 3, &in, NULL), 0);    /* movzx eax, byte */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x80), 0x80);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x66, 0x0f, 0xb6, 0x07 }, 4, &in, NULL), 0);   /* movzx ax, byte */
	CHECK_EQ_U(mmio_load_result(&in, old, 0x80), 0xaaaaaaaaaaaa0080ull);
	CHECK_EQ_I(mmio_decode((const uint8_t[]){ 0x48, 0x0f, 0xb7, 0x07 }, 4, &in, NULL), 0);   /* movzx rax, word */
	CHECK_EQ_U(mmio_load_result(&in, old, 0xffff8001), 0x8001);
}

int main(void)
{
	return run_tests();
}
