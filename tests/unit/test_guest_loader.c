/* Host tests of the guest loader (kernel/vm/loader_elf.c): images built here in memory. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "include/ferry/guest_abi.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/loader_elf.h"
#include "x86_fixtures.h"

#define RAM_BYTES (8ull << 20)
#define IMAGE_MAX 8192
#define CODE_GPA  0x100000ull
#define DATA_GPA  0x200000ull
#define PHOFF     64
#define PHSIZE    56
#define CODE_OFF  0x200
#define DATA_OFF  0x400

static uint8_t image[IMAGE_MAX];
static size_t image_len;

static void put(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint8_t *phdr(int i) { return image + PHOFF + PHSIZE * i; }

static void set_phdr(int i, uint32_t type, uint32_t flags, uint64_t off, uint64_t gpa,
		     uint64_t filesz, uint64_t memsz)
{
	uint8_t *p = phdr(i);
	put(p, type, 4);
	put(p + 4, flags, 4);
	put(p + 8, off, 8);
	put(p + 16, gpa, 8);
	put(p + 24, gpa, 8);
	put(p + 32, filesz, 8);
	put(p + 40, memsz, 8);
	put(p + 48, 0x1000, 8);
}

/* A good image: a code segment at 1 MiB (entry at +0x10) and a data+bss segment at 2 MiB. */
static void good_image(void)
{
	memset(image, 0, sizeof(image));
	image[0] = 0x7f; image[1] = 'E'; image[2] = 'L'; image[3] = 'F';
	image[4] = 2; image[5] = 1; image[6] = 1;
	put(image + 16, 2, 2);          /* ET_EXEC */
	put(image + 18, 62, 2);         /* EM_X86_64 */
	put(image + 20, 1, 4);
	put(image + 24, CODE_GPA + 0x10, 8);
	put(image + 32, PHOFF, 8);
	put(image + 52, 64, 2);
	put(image + 54, PHSIZE, 2);
	put(image + 56, 3, 2);
	set_phdr(0, 1, 5, CODE_OFF, CODE_GPA, 0x100, 0x100);
	set_phdr(1, 1, 6, DATA_OFF, DATA_GPA, 0x80, 0x3000);
	set_phdr(2, 0x6474e551, 6, 0, 0, 0, 0);     /* PT_GNU_STACK: ignored */
	for (int i = 0; i < 0x100; i++)
		image[CODE_OFF + i] = (uint8_t)(0xc0 + i);
	for (int i = 0; i < 0x80; i++)
		image[DATA_OFF + i] = (uint8_t)(0x11 * i);
	image_len = DATA_OFF + 0x80;
}

static uint8_t *new_ram(uint64_t bytes) { return calloc(1, bytes); }

static int all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int load(uint8_t *ram, uint64_t ram_bytes, struct guest_entry_state *e, const char **why)
{
	return guest_load_elf(image, image_len, ram, ram_bytes, "mib=4 rate=10", 1000000000ull, e, why);
}

/* Walks the 4-level table by hand the way the MMU does (SDM Vol. 3A 4.5). */
static int translate(const uint8_t *ram, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	const uint64_t addr_mask = 0x000ffffffffff000ull;
	uint64_t pml4e = get64(ram + cr3 + 8 * ((va >> 39) & 511));
	if (!(pml4e & 1) || !(pml4e & 2))
		return 0;
	uint64_t pdpte = get64(ram + (pml4e & addr_mask) + 8 * ((va >> 30) & 511));
	if (!(pdpte & 1) || (pdpte & 0x80))
		return 0;
	uint64_t pde = get64(ram + (pdpte & addr_mask) + 8 * ((va >> 21) & 511));
	if (!(pde & 1) || !(pde & 0x80) || !(pde & 2))
		return 0;
	*pa = (pde & 0x000fffffffe00000ull) | (va & 0x1fffff);
	return 1;
}

TEST(good_image_loads)
{
	struct guest_entry_state e;
	const char *why = "unset";
	uint8_t *ram = new_ram(RAM_BYTES);

	good_image();
	CHECK_EQ_I(load(ram, RAM_BYTES, &e, &why), 0);
	CHECK(why == NULL);
	CHECK_EQ_U(e.cpu.rip, CODE_GPA + 0x10);
	CHECK_EQ_U(ram[CODE_GPA + 5], 0xc5);
	CHECK_EQ_U(ram[DATA_GPA + 3], 0x33);
	CHECK(all_zero(ram + DATA_GPA + 0x80, 0x3000 - 0x80));
	/* Stack: 64 KiB after the highest segment end (0x203000), page aligned. */
	CHECK_EQ_U(e.cpu.rsp, 0x203000 + GUEST_STACK_BYTES);
	CHECK_EQ_U(e.cpu.rsp % 16, 0);
	CHECK_EQ_U(e.free_start, e.cpu.rsp);
	CHECK_EQ_U(e.cpu.rsi, GUEST_BOOT_PARAMS_GPA);
	CHECK_EQ_U(e.cpu.cr3, GUEST_PML4_GPA);
	CHECK_EQ_U(e.cpu.cr0, 0x80010033);
	CHECK_EQ_U(e.cpu.cr4, 0x620);
	CHECK_EQ_U(e.cpu.efer, 0x500);
	CHECK_EQ_U(e.cpu.rflags, 2);
	CHECK_EQ_U(e.cpu.cs_access, 0xa09b);
	CHECK_EQ_U(e.cpu.ds_access, 0xc093);
	CHECK_EQ_U(e.cpu.tr_access, 0x8b);
	CHECK_EQ_U(e.cpu.gdt_base, GUEST_GDT_GPA);
	CHECK_EQ_U(e.cpu.gdt_limit, 39);
	CHECK_EQ_U(e.cpu.tr_base, GUEST_TSS_GPA);
	CHECK_EQ_U(e.cpu.tr_limit, 103);
	free(ram);
}

TEST(boot_params)
{
	struct guest_entry_state e;
	const char *why;
	uint8_t *ram = new_ram(RAM_BYTES);
	char long_cmdline[400];

	good_image();
	CHECK_EQ_I(load(ram, RAM_BYTES, &e, &why), 0);
	struct ferry_boot_params *bp = (void *)(ram + GUEST_BOOT_PARAMS_GPA);
	CHECK_EQ_U(bp->magic, FERRY_BOOT_PARAMS_MAGIC);
	CHECK(memcmp(&bp->magic, "BOOFERRY", 8) == 0);
	CHECK_EQ_U(bp->ram_bytes, RAM_BYTES);
	CHECK_EQ_U(bp->free_start, e.free_start);
	CHECK_EQ_U(bp->tsc_hz, 1000000000ull);
	CHECK_STR(bp->cmdline, "mib=4 rate=10");
	free(ram);

	memset(long_cmdline, 'a', sizeof(long_cmdline) - 1);
	long_cmdline[sizeof(long_cmdline) - 1] = '\0';
	ram = new_ram(RAM_BYTES);
	CHECK_EQ_I(guest_load_elf(image, image_len, ram, RAM_BYTES, long_cmdline, 1, &e, &why), 0);
	bp = (void *)(ram + GUEST_BOOT_PARAMS_GPA);
	CHECK_EQ_U(strlen(bp->cmdline), FERRY_CMDLINE_MAX - 1);
	free(ram);

	ram = new_ram(RAM_BYTES);
	CHECK_EQ_I(guest_load_elf(image, image_len, ram, RAM_BYTES, NULL, 1, &e, &why), 0);
	bp = (void *)(ram + GUEST_BOOT_PARAMS_GPA);
	CHECK_STR(bp->cmdline, "");
	free(ram);
}

TEST(page_tables_identity_map_all_ram)
{
	struct guest_entry_state e;
	const char *why;
	const uint64_t ram_bytes = (1ull << 30) + (6ull << 20);   /* needs two directories */
	uint8_t *ram = new_ram(ram_bytes);
	uint64_t pa;
	const uint64_t probes[] = { 0, 0x1234, CODE_GPA + 0x10, 0x3fffff, 0x40000000 - 8,
				    0x40000000, ram_bytes - 1 };

	good_image();
	CHECK_EQ_I(load(ram, ram_bytes, &e, &why), 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		CHECK(translate(ram, e.cpu.cr3, probes[i], &pa));
		CHECK_EQ_U(pa, probes[i]);
	}
	/* Past the last 2 MiB page of RAM nothing is mapped. */
	CHECK(!translate(ram, e.cpu.cr3, ram_bytes + (2ull << 20), &pa));
	CHECK(!translate(ram, e.cpu.cr3, 3ull << 30, &pa));
	CHECK(!translate(ram, e.cpu.cr3, 1ull << 39, &pa));
	free(ram);
}

TEST(gdt_descriptors)
{
	struct guest_entry_state e;
	const char *why;
	uint8_t *ram = new_ram(RAM_BYTES);

	good_image();
	CHECK_EQ_I(load(ram, RAM_BYTES, &e, &why), 0);
	const uint8_t *gdt = ram + GUEST_GDT_GPA;
	CHECK_EQ_U(get64(gdt), 0);
	CHECK_EQ_U(get64(gdt + GUEST_CS_SELECTOR), 0x00af9b000000ffffull);
	CHECK_EQ_U(get64(gdt + GUEST_DS_SELECTOR), 0x00cf93000000ffffull);
	CHECK_EQ_U(get64(gdt + GUEST_TR_SELECTOR), 0x00008b0030000067ull);
	CHECK_EQ_U(get64(gdt + GUEST_TR_SELECTOR + 8), 0);
	/* TSS I/O map base = limit + 1: no I/O bitmap. */
	CHECK_EQ_U(ram[GUEST_TSS_GPA + 102], 104);
	free(ram);
}

static void expect_reject(const char *reason, int err)
{
	struct guest_entry_state e;
	const char *why = NULL;
	uint8_t *ram = new_ram(RAM_BYTES);

	CHECK_EQ_I(load(ram, RAM_BYTES, &e, &why), err);
	CHECK_STR(why, reason);
	CHECK(all_zero(ram, RAM_BYTES));    /* a rejected image leaves no state */
	free(ram);
}

TEST(malformed_headers_rejected)
{
	good_image(); image_len = 63;                   expect_reject("ELF: shorter than its header", FERR_INVAL);
	good_image(); image[1] = 'X';                   expect_reject("ELF: bad magic", FERR_INVAL);
	good_image(); image[4] = 1;                     expect_reject("ELF: not 64-bit", FERR_INVAL);
	good_image(); image[5] = 2;                     expect_reject("ELF: not little-endian", FERR_INVAL);
	good_image(); image[6] = 0;                     expect_reject("ELF: unknown version", FERR_INVAL);
	good_image(); put(image + 18, 3, 2);            expect_reject("ELF: not x86-64", FERR_INVAL);
	good_image(); put(image + 16, 3, 2);            expect_reject("ELF: not an executable (ET_EXEC)", FERR_INVAL);
	good_image(); put(image + 54, 32, 2);           expect_reject("ELF: bad program header size", FERR_INVAL);
	good_image(); put(image + 56, 0, 2);            expect_reject("ELF: program header count out of range", FERR_INVAL);
	good_image(); put(image + 56, 17, 2);           expect_reject("ELF: program header count out of range", FERR_INVAL);
	good_image(); put(image + 32, image_len - 100, 8); expect_reject("ELF: program headers outside the file", FERR_INVAL);
	good_image(); put(image + 32, ~0ull - 8, 8);    expect_reject("ELF: program headers outside the file", FERR_INVAL);
}

TEST(malformed_segments_rejected)
{
	good_image(); set_phdr(1, 1, 6, DATA_OFF, DATA_GPA, 0x3001, 0x3000);
	expect_reject("ELF: segment 1 file size above memory size", FERR_INVAL);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, DATA_GPA, 0x81, 0x3000);
	expect_reject("ELF: segment 1 outside the file", FERR_INVAL);
	good_image(); set_phdr(1, 1, 6, ~0ull - 0x10, DATA_GPA, 0x80, 0x3000);
	expect_reject("ELF: segment 1 outside the file", FERR_INVAL);
	good_image(); set_phdr(0, 1, 5, CODE_OFF, 0xff000, 0x100, 0x100); put(image + 24, 0xff010, 8);
	expect_reject("ELF: segment 0 below 1 MiB", FERR_INVAL);
	good_image(); put(phdr(1) + 24, DATA_GPA + 0x1000, 8);
	expect_reject("ELF: segment 1 virtual and physical addresses differ", FERR_INVAL);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, ~0ull - 0x1000, 0x80, 0x3000);
	expect_reject("ELF: segment 1 address overflow", FERR_INVAL);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, ~0ull - 0x7f, 0x10, 0x70);   /* ends just below 2^64 */
	expect_reject("ELF: segment 1 outside guest RAM", FERR_NOMEM);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, ~0ull - 0x7f, 0x80, 0x100);  /* wraps past 2^64 */
	expect_reject("ELF: segment 1 address overflow", FERR_INVAL);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, RAM_BYTES - 0x1000, 0x80, 0x3000);
	expect_reject("ELF: segment 1 outside guest RAM", FERR_NOMEM);
	good_image(); set_phdr(1, 1, 6, DATA_OFF, CODE_GPA + 0x80, 0x80, 0x100);
	expect_reject("ELF: segment 1 overlaps an earlier segment", FERR_INVAL);
	good_image(); set_phdr(0, 4, 5, CODE_OFF, CODE_GPA, 0x100, 0x100); set_phdr(1, 4, 6, 0, 0, 0, 0);
	expect_reject("ELF: no loadable segment", FERR_INVAL);
	good_image(); put(image + 24, DATA_GPA + 0x10, 8);     /* entry in a non-executable segment */
	expect_reject("ELF: entry point outside the executable segments", FERR_INVAL);
	good_image(); put(image + 24, CODE_GPA + 0x100, 8);    /* just past the code */
	expect_reject("ELF: entry point outside the executable segments", FERR_INVAL);
}

TEST(small_ram_is_nomem)
{
	struct guest_entry_state e;
	const char *why = NULL;
	uint8_t *ram = new_ram(GUEST_MIN_RAM_BYTES);

	good_image();
	CHECK_EQ_I(load(ram, 1ull << 20, &e, &why), FERR_NOMEM);
	CHECK_STR(why, "guest RAM below the 2 MiB minimum");
	/* 2 MiB: the data segment at 2 MiB lies outside RAM. */
	CHECK_EQ_I(load(ram, GUEST_MIN_RAM_BYTES, &e, &why), FERR_NOMEM);
	CHECK_STR(why, "ELF: segment 1 outside guest RAM");
	/* Code only: it fits, but the 64 KiB stack does not. */
	good_image(); put(image + 56, 1, 2);
	set_phdr(0, 1, 5, CODE_OFF, CODE_GPA, 0x100, GUEST_MIN_RAM_BYTES - CODE_GPA - 0x8000);
	CHECK_EQ_I(load(ram, GUEST_MIN_RAM_BYTES, &e, &why), FERR_NOMEM);
	CHECK_STR(why, "image and stack do not fit in guest RAM");
	CHECK(all_zero(ram, GUEST_MIN_RAM_BYTES));
	/* Exactly fitting: the stack ends at the end of RAM. */
	set_phdr(0, 1, 5, CODE_OFF, CODE_GPA, 0x100, GUEST_MIN_RAM_BYTES - CODE_GPA - GUEST_STACK_BYTES);
	CHECK_EQ_I(load(ram, GUEST_MIN_RAM_BYTES, &e, &why), 0);
	CHECK_EQ_U(e.free_start, GUEST_MIN_RAM_BYTES);
	free(ram);
}

TEST(huge_ram_beyond_tables_rejected)
{
	struct guest_entry_state e;
	const char *why = NULL;
	uint8_t byte = 0;

	good_image();
	/* 251 GiB needs more page directories than fit below 1 MiB; nothing is touched. */
	CHECK_EQ_I(guest_load_elf(image, image_len, &byte, 251ull << 30, NULL, 1, &e, &why), FERR_INVAL);
	CHECK_STR(why, "guest RAM larger than the boot page tables cover");
}

/* The register file a loaded guest enters with: the entry's values, and valid for VM entry. */
TEST(entry_state_becomes_a_valid_register_file)
{
	struct guest_entry_state e;
	struct x86_cpu_state c, flat;
	struct x86_state_limits l = bochs_limits();
	const char *why = "unset";
	uint8_t *ram = new_ram(RAM_BYTES);

	good_image();
	CHECK_EQ_I(load(ram, RAM_BYTES, &e, &why), 0);
	x86_entry_cpu_state(&e.cpu, &c);
	CHECK_EQ_U(c.rip, e.cpu.rip);
	CHECK_EQ_U(c.gpr[GPR_RSP], e.cpu.rsp);
	CHECK_EQ_U(c.gpr[GPR_RSI], GUEST_BOOT_PARAMS_GPA);
	CHECK_EQ_U(c.cr0, e.cpu.cr0);
	CHECK_EQ_U(c.cr3, e.cpu.cr3);
	CHECK_EQ_U(c.seg[SEG_CS].selector, GUEST_CS_SELECTOR);
	CHECK_EQ_U(c.seg[SEG_CS].access, e.cpu.cs_access);
	CHECK_EQ_U(c.seg[SEG_SS].access, e.cpu.ds_access);
	CHECK_EQ_U(c.seg[SEG_TR].base, GUEST_TSS_GPA);
	CHECK_EQ_U(c.seg[SEG_LDTR].access, AR_UNUSABLE);
	CHECK_EQ_U(c.gdtr_limit, e.cpu.gdt_limit);
	CHECK_EQ_U(c.dr7, DR7_INIT);
	CHECK_EQ_U(x86_mxcsr(&c), MXCSR_INIT);
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);
	/* The flat 64-bit placeholder a backend holds before any state is loaded is valid too. */
	x86_cpu_state_flat64(&flat);
	CHECK_EQ_I(x86_cpu_state_validate(&flat, &l, &why), 0);
	free(ram);
}

int main(void) { return run_tests(); }
