/* Host tests of the guest page-table walker (arch/x86/guest_walk.c): tables built here
 * in a small guest memory, one check per rule of SDM Vol. 3A 4.5-4.7 the walker applies. */
#include <stdlib.h>

#include "arch/x86/guest_walk.h"
#include "arch/x86/pte.h"
#include "arch/x86/x86.h"
#include "check.h"
#include "kernel/lib/errors.h"

#define MEM_BYTES (8ull << 20)
#define PML5 0x1000ull
#define PML4 0x2000ull
#define PDPT 0x3000ull
#define PD   0x4000ull
#define PT   0x5000ull
#define RW   (PTE_PRESENT | PTE_WRITABLE)

static uint8_t *mem;
static int reads;

static int read_mem(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	reads++;
	if (gpa >= MEM_BYTES || len > MEM_BYTES - gpa)
		return FERR_RANGE;
	memcpy(buf, mem + gpa, len);
	return 0;
}

static void set(uint64_t table, unsigned index, uint64_t entry)
{
	for (int i = 0; i < 8; i++)
		mem[table + 8 * index + i] = (uint8_t)(entry >> (8 * i));
}

/* VA 0x40201000 (PML4 0, PDPT 1, PD 1, PT 1) -> 0x300000 (4 KiB page);
 * VA 0x40400000 (PD 2) -> 2 MiB page at 0x600000; VA 0x80000000 (PDPT 2) -> 1 GiB page at 0. */
static struct guest_paging fresh(void)
{
	memset(mem, 0, MEM_BYTES);
	set(PML4, 0, PDPT | RW | PTE_USER);
	set(PDPT, 1, PD | RW | PTE_USER);
	set(PDPT, 2, 0 | RW | PTE_LARGE);
	set(PD, 1, PT | RW | PTE_USER);
	set(PD, 2, 0x600000 | RW | PTE_LARGE);
	set(PT, 1, 0x300000 | RW);
	return (struct guest_paging){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = PML4, .cr4 = CR4_PAE,
		.efer = EFER_LME | EFER_LMA | EFER_NXE, .maxphyaddr = 39, .gb_pages = true,
	};
}

static int tr(const struct guest_paging *p, uint64_t va, enum guest_access a, uint64_t *gpa,
	      struct guest_walk_fault *f)
{
	const char *why = NULL;
	int err = guest_translate(p, va, a, read_mem, NULL, gpa, f, &why);
	if (err)
		CHECK(why != NULL);
	return err;
}

TEST(translations_at_each_page_size)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;

	CHECK_EQ_I(tr(&p, 0x40201abc, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x300abc);
	CHECK_EQ_I(tr(&p, 0x40412345, GUEST_ACCESS_WRITE, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x612345);
	CHECK_EQ_I(tr(&p, 0xbfedcba9, GUEST_ACCESS_FETCH, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x3fedcba9);
	/* Paging off: linear is physical. */
	p.cr0 &= ~CR0_PG;
	CHECK_EQ_I(tr(&p, 0x12345678, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x12345678);
	/* Legacy paging is not walked. */
	p = fresh();
	p.efer &= ~EFER_LMA;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOTSUP);
}

TEST(five_level_paging)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;

	p.cr4 |= CR4_LA57;
	p.cr3 = PML5;
	set(PML5, 0, PML4 | RW | PTE_USER);
	CHECK_EQ_I(tr(&p, 0x40201abc, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x300abc);
	/* Canonical with 57 bits, not with 48. */
	set(PML5, 1, PML4 | RW);
	CHECK_EQ_I(tr(&p, (1ull << 48) | 0x40201000, GUEST_ACCESS_READ, &gpa, &f), 0);
	p = fresh();
	CHECK_EQ_I(tr(&p, (1ull << 48) | 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_RANGE);
	CHECK_EQ_I(tr(&p, 0xffff800000000000ull, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);   /* canonical, unmapped */
}

TEST(not_present_at_each_level)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;

	CHECK_EQ_I(tr(&p, 0x40202000, GUEST_ACCESS_WRITE, &gpa, &f), FERR_NOENT);   /* PT 2 */
	CHECK_EQ_U(f.level, 1);
	CHECK_EQ_U(f.error_code, PF_WRITE);
	CHECK_EQ_I(tr(&p, 0x40600000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);    /* PD 3 */
	CHECK_EQ_U(f.level, 2);
	CHECK_EQ_U(f.error_code, 0);
	CHECK_EQ_I(tr(&p, 0xc0000000, GUEST_ACCESS_FETCH, &gpa, &f), FERR_NOENT);   /* PDPT 3 */
	CHECK_EQ_U(f.level, 3);
	CHECK_EQ_U(f.error_code, PF_FETCH);
	CHECK_EQ_I(tr(&p, 1ull << 39, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);    /* PML4 1 */
	CHECK_EQ_U(f.level, 4);
}

TEST(access_rights)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;

	/* Read-only leaf: supervisor writes fault with CR0.WP, pass without. */
	set(PT, 1, 0x300000 | PTE_PRESENT);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_WRITE, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, PF_PRESENT | PF_WRITE);
	p.cr0 &= ~CR0_WP;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_WRITE, &gpa, &f), 0);
	p.user = true;   /* ...but never for user mode; and the leaf is a supervisor page */
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, PF_PRESENT | PF_USER);
	set(PT, 1, 0x300000 | PTE_PRESENT | PTE_USER);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_WRITE, &gpa, &f), FERR_NOENT);
	/* A read-only upper level makes the whole range read-only. */
	p = fresh();
	set(PDPT, 1, PD | PTE_PRESENT | PTE_USER);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_WRITE, &gpa, &f), FERR_NOENT);
	/* NX at any level stops fetches, with EFER.NXE. */
	p = fresh();
	set(PD, 1, PT | RW | PTE_USER | PTE_NX);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_FETCH, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, PF_PRESENT | PF_FETCH);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), 0);
	/* SMEP: a supervisor fetch from a user page. */
	p = fresh();
	p.cr4 |= CR4_SMEP;
	set(PT, 1, 0x300000 | RW | PTE_USER);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_FETCH, &gpa, &f), FERR_NOENT);
	p.cr4 &= ~CR4_SMEP;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_FETCH, &gpa, &f), 0);
}

TEST(reserved_bits)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;
	const uint32_t rsvd = PF_PRESENT | PF_RESERVED;

	set(PT, 1, 0x300000 | RW | PTE_NX);            /* NX without EFER.NXE */
	p.efer &= ~EFER_NXE;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, rsvd);
	p = fresh();
	set(PT, 1, (1ull << 39) | 0x300000 | RW);      /* above MAXPHYADDR 39 */
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, rsvd);
	p.maxphyaddr = 46;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_U(gpa, (1ull << 39) | 0x300000);
	p = fresh();
	set(PML4, 0, PDPT | RW | PTE_USER | PTE_LARGE);   /* PS in a PML4E */
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.level, 4);
	p = fresh();
	set(PD, 2, 0x601000 | RW | PTE_LARGE);         /* 2 MiB page, bit 12 is PAT: fine */
	CHECK_EQ_I(tr(&p, 0x40400000, GUEST_ACCESS_READ, &gpa, &f), 0);
	CHECK_EQ_U(gpa, 0x600000);
	set(PD, 2, 0x602000 | RW | PTE_LARGE);         /* bit 13: reserved */
	CHECK_EQ_I(tr(&p, 0x40400000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.error_code, rsvd);
	p = fresh();
	p.gb_pages = false;                            /* 1 GiB pages not offered */
	CHECK_EQ_I(tr(&p, 0x80000000, GUEST_ACCESS_READ, &gpa, &f), FERR_NOENT);
	CHECK_EQ_U(f.level, 3);
}

TEST(tables_outside_guest_memory)
{
	struct guest_paging p = fresh();
	uint64_t gpa;
	struct guest_walk_fault f;

	set(PD, 1, (MEM_BYTES + 0x1000) | RW);
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_RANGE);
	p.cr3 = 1ull << 38;
	CHECK_EQ_I(tr(&p, 0x40201000, GUEST_ACCESS_READ, &gpa, &f), FERR_RANGE);
}

TEST(fetch_across_pages)
{
	struct guest_paging p = fresh();
	struct guest_walk_fault f;
	uint8_t buf[15];
	const char *why;

	set(PT, 2, 0x305000 | RW);
	for (int i = 0; i < 16; i++) {
		mem[0x300ff8 + i] = (uint8_t)(0x10 + i);   /* the end of the first page */
		mem[0x305000 + i] = (uint8_t)(0x80 + i);   /* the start of the second */
	}
	CHECK_EQ_I(guest_fetch(&p, 0x40201ff8, buf, 15, read_mem, NULL, &f, &why), 15);
	CHECK_EQ_U(buf[7], 0x17);
	CHECK_EQ_U(buf[8], 0x80);
	CHECK_EQ_U(buf[14], 0x86);
	/* The second page unmapped: the fetch stops at the boundary. */
	set(PT, 2, 0);
	CHECK_EQ_I(guest_fetch(&p, 0x40201ff8, buf, 15, read_mem, NULL, &f, &why), 8);
	/* The first page unmapped: the fault. */
	CHECK_EQ_I(guest_fetch(&p, 0x40202000, buf, 15, read_mem, NULL, &f, &why), FERR_NOENT);
	CHECK_EQ_U(f.error_code, PF_FETCH);
	/* The instruction's page outside guest RAM. */
	set(PT, 3, (MEM_BYTES) | RW);
	CHECK_EQ_I(guest_fetch(&p, 0x40203000, buf, 15, read_mem, NULL, &f, &why), FERR_RANGE);
	CHECK_STR(why, "guest paging: instruction outside guest RAM");
}

int main(void)
{
	mem = calloc(1, MEM_BYTES);
	return mem ? run_tests() : 1;
}
