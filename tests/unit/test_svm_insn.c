/* Host tests of the guest page walks and the CR/DR move decoder (arch/x86/svm/insn.c). */
#include "check.h"
#include "arch/x86/svm/insn.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"

#include <stdlib.h>
#include <string.h>

#define RAM_BYTES (8 * MIB)
#define P  PTE_PRESENT
#define RW PTE_WRITABLE

static uint8_t *ram;

static void put64(uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }
static void put32(uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }

static struct guest_ram mem(void)
{
	return (struct guest_ram){ ram, RAM_BYTES };
}

static void fresh_ram(void)
{
	if (!ram)
		ram = malloc(RAM_BYTES);
	memset(ram, 0, RAM_BYTES);
}

static uint64_t translate(const struct guest_paging *p, uint64_t linear)
{
	struct guest_ram m = mem();
	uint64_t gpa = ~0ull;
	return guest_translate(p, &m, linear, &gpa) ? ~0ull : gpa;
}

/* 4-level tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD), 0x4000 (PT). */
static struct guest_paging four_level(void)
{
	fresh_ram();
	put64(0x1000 + 8 * 0, 0x2000 | P | RW);
	put64(0x1000 + 8 * 511, 0x2000 | P | RW);                 /* the top 512 GiB too */
	put64(0x2000 + 8 * 0, 0x3000 | P | RW);
	put64(0x2000 + 8 * 3, 0x0 | P | RW | PTE_LARGE);          /* a 1 GiB page at 3 GiB -> GPA 0 */
	put64(0x3000 + 8 * 0, 0x4000 | P | RW);
	put64(0x3000 + 8 * 1, 0x200000 | P | RW | PTE_LARGE);     /* 2 MiB at 2 MiB -> itself */
	put64(0x4000 + 8 * 5, 0x7000 | P);                        /* 0x5000 -> 0x7000 */
	put64(0x4000 + 8 * 6, 0x9000 | P);                        /* 0x6000 -> 0x9000 */
	return (struct guest_paging){ .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cr4 = CR4_PAE,
				      .efer = EFER_LME | EFER_LMA, .mode64 = true };
}

TEST(four_level_walks_4k_2m_and_1g_pages)
{
	struct guest_paging p = four_level();
	CHECK_EQ_U(translate(&p, 0x5123), 0x7123);
	CHECK_EQ_U(translate(&p, 0x200000 + 0x12345), 0x212345);
	CHECK_EQ_U(translate(&p, 3 * GIB + 0x4567), 0x4567);
	CHECK_EQ_U(translate(&p, 0xffffff8000005123ull), 0x7123);   /* PML4 entry 511 */
	CHECK_EQ_U(translate(&p, 0x3000), ~0ull);                   /* not present */
	CHECK_EQ_U(translate(&p, 1 * GIB), ~0ull);
	put64(0x3000 + 8 * 2, (RAM_BYTES + 0x1000) | P);              /* a table outside RAM */
	CHECK_EQ_U(translate(&p, 4 * MIB), ~0ull);
}

TEST(pae_and_32_bit_paging_and_no_paging)
{
	fresh_ram();
	/* PAE: PDPT at 0x1020 (32-byte aligned), PD at 0x3000, PT at 0x4000. */
	put64(0x1020 + 8 * 1, 0x3000 | P);                         /* linear 1 GiB .. 2 GiB */
	put64(0x3000 + 8 * 0, 0x4000 | P);
	put64(0x3000 + 8 * 1, 0x600000 | P | PTE_LARGE);
	put64(0x4000 + 8 * 2, 0x8000 | P);
	struct guest_paging pae = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1020, .cr4 = CR4_PAE };
	CHECK_EQ_U(translate(&pae, GIB + 0x2abc), 0x8abc);
	CHECK_EQ_U(translate(&pae, GIB + 2 * MIB + 0x10), 0x600010);
	CHECK_EQ_U(translate(&pae, 0x2abc), ~0ull);

	/* 32-bit: PD at 0x5000, PT at 0x6000; a 4 MiB page with PSE. */
	put32(0x5000 + 4 * 0, 0x6000 | P);
	put32(0x5000 + 4 * 1, 0x400000 | P | PTE_LARGE);
	put32(0x6000 + 4 * 3, 0x9000 | P);
	struct guest_paging p32 = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x5000, .cr4 = CR4_PSE };
	CHECK_EQ_U(translate(&p32, 0x3010), 0x9010);
	CHECK_EQ_U(translate(&p32, 0x400000 + 0x1234), 0x401234);
	p32.cr4 = 0;   /* without PSE the large bit means nothing: entry 1 points at a page table */
	CHECK_EQ_U(translate(&p32, 0x400000 + 0x1234), ~0ull);

	struct guest_paging flat = { .cr0 = CR0_PE };
	CHECK_EQ_U(translate(&flat, 0x123456), 0x123456);
}

TEST(fetch_follows_pages_and_stops_where_unmapped)
{
	struct guest_paging p = four_level();
	/* An instruction across the 0x5000/0x6000 boundary: bytes at 0x7ffe-0x7fff and 0x9000. */
	ram[0x7ffe] = 0x0f;
	ram[0x7fff] = 0x22;
	ram[0x9000] = 0xe0;
	struct guest_ram m = mem();
	uint8_t buf[INSN_MAX_BYTES];
	CHECK_EQ_U(guest_fetch_insn(&p, &m, 0x5ffe, buf, sizeof(buf)), INSN_MAX_BYTES);
	CHECK(buf[0] == 0x0f && buf[1] == 0x22 && buf[2] == 0xe0);
	/* 0x7000 is not mapped: a fetch at 0x6ffd gets three bytes. */
	CHECK_EQ_U(guest_fetch_insn(&p, &m, 0x6ffd, buf, sizeof(buf)), 3);
	/* CS base counts outside 64-bit mode. */
	struct guest_paging flat = { .cr0 = CR0_PE, .cs_base = 0x7000 };
	CHECK_EQ_U(guest_fetch_insn(&flat, &m, 0xffe, buf, 3), 3);
	CHECK(buf[0] == 0x0f && buf[1] == 0x22);
	CHECK_EQ_U(guest_fetch_insn(&flat, &m, RAM_BYTES - 0x7000 - 1, buf, 3), 1);
}

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
	int failed = run_tests();
	free(ram);
	return failed;
}
