/*
 * libFuzzer target for the MMIO path's hostile inputs: the instruction decoder
 * (arch/x86/mmio_decode.c) over arbitrary bytes, and the guest page-table walker
 * (arch/x86/guest_walk.c) over an arbitrary guest memory, CR3, CR4, EFER and RIP, its
 * fetched bytes then decoded. A crash, a sanitizer report, a read outside the guest
 * memory, or a decode that breaks its own contract (length past the bytes, a size not
 * 1/2/4/8, a register past R15) is a bug.
 *
 * Input: 16 bytes of walk parameters, then the guest memory (also the decoder's bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/guest_walk.h"
#include "arch/x86/mmio_decode.h"
#include "arch/x86/x86.h"
#include "fuzz_seeds.h"
#include "kernel/lib/errors.h"

#define PARAM_BYTES 16
#define MEM_BYTES   0x10000u

static uint8_t mem[MEM_BYTES];

static int read_mem(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	if (gpa >= MEM_BYTES || len > MEM_BYTES - gpa)
		return FERR_RANGE;
	memcpy(buf, mem + gpa, len);
	return 0;
}

static void check_decode(const uint8_t *bytes, size_t avail)
{
	struct mmio_insn in;
	const char *why = NULL;
	int err = mmio_decode(bytes, avail, &in, &why);

	if (err == 0) {
		if (in.length == 0 || in.length > avail || in.length > MMIO_INSN_MAX_BYTES || why)
			abort();
		if (in.size != 1 && in.size != 2 && in.size != 4 && in.size != 8)
			abort();
		if (in.reg >= MMIO_GPR_COUNT || (in.high_byte && in.reg > MMIO_RBX))
			abort();
		if (!in.write && in.dest_size != 1 && in.dest_size != 2 && in.dest_size != 4 && in.dest_size != 8)
			abort();
		uint64_t v = mmio_store_value(&in, 0x0123456789abcdefull);
		if (in.size < 8 && v >> (8 * in.size))
			abort();
		(void)mmio_load_result(&in, ~0ull, ~0ull);
	} else if ((err != FERR_NOTSUP && err != FERR_INVAL) || !why || !*why) {
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A long-mode walk (CR3 0x1000, identity 2 MiB page) to `mov eax, [0xfee000b0]`. */
	static uint8_t seed[PARAM_BYTES + 0x3010];
	memset(seed, 0, sizeof(seed));
	seed[0] = 0x00; seed[1] = 0x10;             /* CR3 0x1000 */
	seed[4] = 0x00; seed[5] = 0x30;             /* RIP 0x3000 */
	seed[8] = 0x01;                             /* flags: long mode */
	uint8_t *m = seed + PARAM_BYTES;
	m[0x1000] = 0x03; m[0x1001] = 0x20;         /* PML4[0] -> 0x2000 */
	m[0x2000] = 0x03; m[0x2001] = 0x30;         /* PDPT[0] -> 0x3000 */
	m[0x3000] = 0x83;                           /* PD[0]: 2 MiB page at 0 (also the code) */
	static const uint8_t insn[] = { 0x8b, 0x04, 0x25, 0xb0, 0x00, 0xe0, 0xfe };
	memcpy(m + 0x3000 + 8, insn, sizeof(insn));
	fuzz_write_seed("walk", seed, sizeof(seed));
	fuzz_write_seed("decode", insn, sizeof(insn));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_decode(data, size);
	if (size < PARAM_BYTES)
		return 0;

	size_t body = size - PARAM_BYTES;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + PARAM_BYTES, body < MEM_BYTES ? body : MEM_BYTES);
	uint32_t cr3 = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
	uint64_t rip = 0;
	for (int i = 0; i < 4; i++)
		rip |= (uint64_t)data[4 + i] << (8 * i);
	rip |= (uint64_t)(int8_t)data[3] << 56 >> 24;   /* reach high and non-canonical addresses */
	uint8_t flags = data[8];
	struct guest_paging p = {
		.cr0 = CR0_PE | ((flags & 0x01) ? CR0_PG : 0) | ((flags & 0x02) ? CR0_WP : 0),
		.cr3 = cr3 | (uint64_t)data[9] << 32,
		.cr4 = CR4_PAE | ((flags & 0x04) ? CR4_LA57 : 0) | ((flags & 0x08) ? CR4_SMEP : 0),
		.efer = ((flags & 0x10) ? 0 : EFER_LMA | EFER_LME) | ((flags & 0x20) ? EFER_NXE : 0),
		.maxphyaddr = data[10],
		.gb_pages = flags & 0x40,
		.user = flags & 0x80,
	};
	uint8_t insn[MMIO_INSN_MAX_BYTES];
	struct guest_walk_fault fault;
	const char *why = NULL;
	int got = guest_fetch(&p, rip, insn, sizeof(insn), read_mem, NULL, &fault, &why);
	if (got > (int)sizeof(insn) || got == 0)
		abort();
	if (got > 0)
		check_decode(insn, (size_t)got);
	else if (!why)
		abort();
	uint64_t gpa;
	int err = guest_translate(&p, rip, (enum guest_access)(data[11] % 3), read_mem, NULL, &gpa,
				  &fault, &why);
	if (err == FERR_NOENT && fault.level > 5)
		abort();
	return 0;
}
