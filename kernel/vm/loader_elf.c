/*
 * Guest loader (contract in loader_elf.h): validates an ELF64 executable, copies
 * its PT_LOAD segments into guest RAM and builds the boot-time structures a 64-bit
 * guest starts with. Validation runs to completion before the first write to RAM,
 * so a rejected image leaves the (zeroed) RAM untouched.
 */
#include "kernel/vm/loader_elf.h"

#include <string.h>

#include "arch/x86/cpu_state.h"
#include "arch/x86/x86.h"
#include "include/ferry/guest_abi.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/units.h"

/* ---- ELF64 (System V ABI, AMD64 supplement) ----------------------------------- */
#define ELF_MAGIC0        0x7f
#define ELF_CLASS_64      2
#define ELF_DATA_LSB      1
#define ELF_VERSION_CURRENT 1
#define ELF_TYPE_EXEC     2
#define ELF_MACHINE_X86_64 62
#define ELF_PT_LOAD       1
#define ELF_PF_X          0x1
#define ELF_IDENT_CLASS   4
#define ELF_IDENT_DATA    5
#define ELF_IDENT_VERSION 6
#define ELF_MAX_PHNUM     16   /* guests need two or three; a bound keeps the checks O(n^2) small */

struct elf64_header {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

/* ---- what the loader builds (x86 bits: arch/x86/x86.h) ---------------------- */
#define GUEST_PDPT_GPA (GUEST_PML4_GPA + PAGE_SIZE)
#define GUEST_PD_GPA   (GUEST_PDPT_GPA + PAGE_SIZE)

#define GDT_SLOTS     5          /* null, code, data, TSS (two slots) */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads the header field by field, so a misaligned or short image is never cast. */
static void read_header(const uint8_t *b, struct elf64_header *h)
{
	memcpy(h->ident, b, sizeof(h->ident));
	h->type = get16(b + 16);
	h->machine = get16(b + 18);
	h->version = get32(b + 20);
	h->entry = get64(b + 24);
	h->phoff = get64(b + 32);
	h->shoff = get64(b + 40);
	h->flags = get32(b + 48);
	h->ehsize = get16(b + 52);
	h->phentsize = get16(b + 54);
	h->phnum = get16(b + 56);
	h->shentsize = get16(b + 58);
	h->shnum = get16(b + 60);
	h->shstrndx = get16(b + 62);
}

#define ELF_HEADER_BYTES 64u
#define ELF_PHDR_BYTES   56u

static void read_phdr(const uint8_t *b, struct elf64_phdr *p)
{
	p->type = get32(b);
	p->flags = get32(b + 4);
	p->offset = get64(b + 8);
	p->vaddr = get64(b + 16);
	p->paddr = get64(b + 24);
	p->filesz = get64(b + 32);
	p->memsz = get64(b + 40);
	p->align = get64(b + 48);
}

static int reject(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

/* Per-segment reasons carry the program-header index; they live in a static buffer
 * (the loader runs from the shell, one load at a time). */
static char segment_reason[64];

static const char *segment_text(unsigned index, const char *what)
{
	static const char prefix[] = "ELF: segment ";
	size_t n = 0;
	char digits[8];
	int d = 0;

	memcpy(segment_reason, prefix, sizeof(prefix) - 1);
	n = sizeof(prefix) - 1;
	do {
		digits[d++] = (char)('0' + index % 10);
		index /= 10;
	} while (index && d < (int)sizeof(digits));
	while (d)
		segment_reason[n++] = digits[--d];
	segment_reason[n++] = ' ';
	while (*what && n < sizeof(segment_reason) - 1)
		segment_reason[n++] = *what++;
	segment_reason[n] = '\0';
	return segment_reason;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

static void build_page_tables(uint8_t *ram, uint64_t ram_bytes)
{
	uint64_t mapped = align_up(ram_bytes, PAGE_2M);
	uint64_t directories = align_up(mapped, PAGE_1G) / PAGE_1G;

	put64(ram + GUEST_PML4_GPA, GUEST_PDPT_GPA | PTE_PRESENT | PTE_WRITABLE);
	for (uint64_t d = 0; d < directories; d++)
		put64(ram + GUEST_PDPT_GPA + 8 * d,
		      (GUEST_PD_GPA + d * PAGE_SIZE) | PTE_PRESENT | PTE_WRITABLE);
	for (uint64_t gpa = 0; gpa < mapped; gpa += PAGE_2M)
		put64(ram + GUEST_PD_GPA + 8 * (gpa / PAGE_2M),
		      gpa | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
}

static void build_gdt_and_tss(uint8_t *ram)
{
	uint8_t *gdt = ram + GUEST_GDT_GPA;
	uint8_t *tss = ram + GUEST_TSS_GPA;

	put64(gdt + GUEST_CS_SELECTOR, x86_segment_descriptor(0, DESC_LIMIT_FLAT, X86_CODE64_ACCESS));
	put64(gdt + GUEST_DS_SELECTOR, x86_segment_descriptor(0, DESC_LIMIT_FLAT, X86_DATA_ACCESS));
	put64(gdt + GUEST_TR_SELECTOR,
	      x86_segment_descriptor((uint32_t)GUEST_TSS_GPA, TSS64_BYTES - 1, X86_TSS64_ACCESS));
	put64(gdt + GUEST_TR_SELECTOR + 8, GUEST_TSS_GPA >> 32);
	/* An I/O map base at the TSS limit means "no I/O permission bitmap". */
	tss[TSS64_IOMAP_BASE_OFFSET] = (uint8_t)TSS64_BYTES;
	tss[TSS64_IOMAP_BASE_OFFSET + 1] = 0;
}

int guest_load_elf(const void *image, size_t image_len, uint8_t *ram, uint64_t ram_bytes,
		   const char *cmdline, uint64_t tsc_hz, struct guest_entry_state *entry,
		   const char **why)
{
	const uint8_t *bytes = image;
	struct elf64_header h;
	struct elf64_phdr ph[ELF_MAX_PHNUM];
	uint64_t highest_end = 0;
	int loads = 0, entry_ok = 0;

	if (ram_bytes < GUEST_MIN_RAM_BYTES)
		return reject(why, "guest RAM below the 2 MiB minimum", FERR_NOMEM);
	/* The page directories sit between GUEST_PD_GPA and the image; one per GiB. */
	if (align_up(ram_bytes, PAGE_1G) / PAGE_1G > (GUEST_IMAGE_MIN_GPA - GUEST_PD_GPA) / PAGE_SIZE)
		return reject(why, "guest RAM larger than the boot page tables cover", FERR_INVAL);
	if (!image || image_len < ELF_HEADER_BYTES)
		return reject(why, "ELF: shorter than its header", FERR_INVAL);
	read_header(bytes, &h);
	if (h.ident[0] != ELF_MAGIC0 || h.ident[1] != 'E' || h.ident[2] != 'L' || h.ident[3] != 'F')
		return reject(why, "ELF: bad magic", FERR_INVAL);
	if (h.ident[ELF_IDENT_CLASS] != ELF_CLASS_64)
		return reject(why, "ELF: not 64-bit", FERR_INVAL);
	if (h.ident[ELF_IDENT_DATA] != ELF_DATA_LSB)
		return reject(why, "ELF: not little-endian", FERR_INVAL);
	if (h.ident[ELF_IDENT_VERSION] != ELF_VERSION_CURRENT || h.version != ELF_VERSION_CURRENT)
		return reject(why, "ELF: unknown version", FERR_INVAL);
	if (h.machine != ELF_MACHINE_X86_64)
		return reject(why, "ELF: not x86-64", FERR_INVAL);
	if (h.type != ELF_TYPE_EXEC)
		return reject(why, "ELF: not an executable (ET_EXEC)", FERR_INVAL);
	if (h.phentsize != ELF_PHDR_BYTES)
		return reject(why, "ELF: bad program header size", FERR_INVAL);
	if (h.phnum == 0 || h.phnum > ELF_MAX_PHNUM)
		return reject(why, "ELF: program header count out of range", FERR_INVAL);
	if (h.phoff > image_len || (uint64_t)h.phnum * ELF_PHDR_BYTES > image_len - h.phoff)
		return reject(why, "ELF: program headers outside the file", FERR_INVAL);

	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf64_phdr *p = &ph[i];

		read_phdr(bytes + h.phoff + (uint64_t)i * ELF_PHDR_BYTES, p);
		if (p->type != ELF_PT_LOAD)
			continue;
		if (p->filesz > p->memsz)
			return reject(why, segment_text(i, "file size above memory size"), FERR_INVAL);
		if (p->offset > image_len || p->filesz > image_len - p->offset)
			return reject(why, segment_text(i, "outside the file"), FERR_INVAL);
		if (p->paddr != p->vaddr)
			return reject(why, segment_text(i, "virtual and physical addresses differ"), FERR_INVAL);
		if (p->vaddr < GUEST_IMAGE_MIN_GPA)
			return reject(why, segment_text(i, "below 1 MiB"), FERR_INVAL);
		if (p->memsz > UINT64_MAX - p->vaddr)
			return reject(why, segment_text(i, "address overflow"), FERR_INVAL);
		/* Not fitting is a matter of RAM size, as the contract says: FERR_NOMEM.
		 * (RAM ends far below 2^64, so the page rounding of the end cannot wrap.) */
		if (p->vaddr > ram_bytes || p->memsz > ram_bytes - p->vaddr)
			return reject(why, segment_text(i, "outside guest RAM"), FERR_NOMEM);
		for (unsigned j = 0; j < i; j++) {
			if (ph[j].type != ELF_PT_LOAD)
				continue;
			if (p->vaddr < ph[j].vaddr + ph[j].memsz && ph[j].vaddr < p->vaddr + p->memsz)
				return reject(why, segment_text(i, "overlaps an earlier segment"), FERR_INVAL);
		}
		if ((p->flags & ELF_PF_X) && h.entry >= p->vaddr && h.entry - p->vaddr < p->filesz)
			entry_ok = 1;
		if (p->vaddr + p->memsz > highest_end)
			highest_end = p->vaddr + p->memsz;
		loads++;
	}
	if (!loads)
		return reject(why, "ELF: no loadable segment", FERR_INVAL);
	if (!entry_ok)
		return reject(why, "ELF: entry point outside the executable segments", FERR_INVAL);

	uint64_t stack_base = align_up(highest_end, PAGE_SIZE);
	uint64_t stack_top = stack_base + GUEST_STACK_BYTES;

	if (stack_top > ram_bytes)
		return reject(why, "image and stack do not fit in guest RAM", FERR_NOMEM);

	/* Valid: from here on only writes into RAM. */
	for (unsigned i = 0; i < h.phnum; i++) {
		if (ph[i].type != ELF_PT_LOAD)
			continue;
		memcpy(ram + ph[i].vaddr, bytes + ph[i].offset, ph[i].filesz);
		memset(ram + ph[i].vaddr + ph[i].filesz, 0, ph[i].memsz - ph[i].filesz);
	}
	build_page_tables(ram, ram_bytes);
	build_gdt_and_tss(ram);

	struct ferry_boot_params *bp = (struct ferry_boot_params *)(ram + GUEST_BOOT_PARAMS_GPA);

	bp->magic = FERRY_BOOT_PARAMS_MAGIC;
	bp->ram_bytes = ram_bytes;
	bp->free_start = stack_top;
	bp->tsc_hz = tsc_hz;
	if (cmdline) {
		size_t n = 0;

		while (n < FERRY_CMDLINE_MAX - 1 && cmdline[n])
			n++;
		memcpy(bp->cmdline, cmdline, n);
		bp->cmdline[n] = '\0';
	}

	*entry = (struct guest_entry_state){
		.cpu = {
			.rip = h.entry,
			.rsp = stack_top,   /* page aligned, so 16-byte aligned */
			.rsi = GUEST_BOOT_PARAMS_GPA,
			.rflags = RFLAGS_FIXED1,   /* IF clear: interrupts off */
			.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG,
			.cr3 = GUEST_PML4_GPA,
			.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT,
			.efer = EFER_LME | EFER_LMA,
			.gdt_base = GUEST_GDT_GPA,
			.gdt_limit = GDT_SLOTS * 8 - 1,
			.tr_base = GUEST_TSS_GPA,
			.tr_limit = TSS64_BYTES - 1,
			.cs_selector = GUEST_CS_SELECTOR,
			.ds_selector = GUEST_DS_SELECTOR,
			.tr_selector = GUEST_TR_SELECTOR,
			.cs_access = X86_CODE64_ACCESS,
			.ds_access = X86_DATA_ACCESS,
			.tr_access = X86_TSS64_ACCESS,
		},
		.free_start = stack_top,
	};
	if (why)
		*why = NULL;
	return 0;
}
