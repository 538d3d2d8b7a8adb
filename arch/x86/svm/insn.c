/* Guest page walks and the CR/DR move decoder; see insn.h. */
#include "arch/x86/svm/insn.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define PAGE_BYTES        4096ull
#define PAGE_OFFSET_MASK  (PAGE_BYTES - 1)
#define CR3_PAE_MASK      0xffffffe0ull          /* PAE: the PDPT is 32-byte aligned below 4 GiB */
#define PTE32_ADDR_MASK   0xfffff000ull
#define PAGE_4M_MASK      ((1ull << 22) - 1)
#define LIMIT_32BIT       0xffffffffull
#define PREFIX_MAX        (INSN_MAX_BYTES - 3)  /* room left for 0F, the opcode and ModRM */
#define REX_FIRST         0x40
#define REX_LAST          0x4f
#define REX_B             0x1                   /* extends ModRM.rm */
#define OPCODE_ESCAPE     0x0f
#define MODRM_RM(m)       ((m) & 7u)

static bool read_u64(const struct guest_ram *m, uint64_t gpa, uint64_t *value)
{
	if (gpa > m->bytes || m->bytes - gpa < sizeof(*value))
		return false;
	memcpy(value, m->ram + gpa, sizeof(*value));
	return true;
}

static bool read_u32(const struct guest_ram *m, uint64_t gpa, uint32_t *value)
{
	if (gpa > m->bytes || m->bytes - gpa < sizeof(*value))
		return false;
	memcpy(value, m->ram + gpa, sizeof(*value));
	return true;
}

/* 32-bit paging (APM Vol. 2, 5.3.1; SDM Vol. 3A 4.3): two levels of 4-byte entries, 4 MiB pages with PSE. */
static int walk32(const struct guest_paging *p, const struct guest_ram *m, uint64_t linear, uint64_t *gpa)
{
	uint32_t pde, pte;

	if (!read_u32(m, (p->cr3 & PTE32_ADDR_MASK) + 4 * ((linear >> 22) & 0x3ff), &pde) || !(pde & PTE_PRESENT))
		return FERR_NOENT;
	if ((pde & PTE_LARGE) && (p->cr4 & CR4_PSE)) {
		*gpa = (pde & ~PAGE_4M_MASK & LIMIT_32BIT) + (linear & PAGE_4M_MASK);
		return FERR_OK;
	}
	if (!read_u32(m, (pde & PTE32_ADDR_MASK) + 4 * ((linear >> 12) & 0x3ff), &pte) || !(pte & PTE_PRESENT))
		return FERR_NOENT;
	*gpa = (pte & PTE32_ADDR_MASK) + (linear & PAGE_OFFSET_MASK);
	return FERR_OK;
}

/* PAE and 4-level paging (APM Vol. 2, 5.3.3-5.3.4): 8-byte entries, 9 bits a level, large pages at levels 1 and 2. */
static int walk64(const struct guest_paging *p, const struct guest_ram *m, uint64_t linear, uint64_t *gpa)
{
	bool four_level = p->efer & EFER_LMA;
	unsigned level = four_level ? 3 : 2;
	uint64_t entry;

	if (four_level) {
		entry = p->cr3;
	} else {
		/* The PAE PDPT: four entries, indexed by bits 31:30. */
		if (!read_u64(m, (p->cr3 & CR3_PAE_MASK) + 8 * ((linear >> 30) & 3), &entry) ||
		    !(entry & PTE_PRESENT))
			return FERR_NOENT;
		level = 1;
	}
	for (;; level--) {
		unsigned shift = 12 + 9 * level;
		if (!read_u64(m, (entry & PTE_ADDR_MASK) + 8 * ((linear >> shift) & 511), &entry) ||
		    !(entry & PTE_PRESENT))
			return FERR_NOENT;
		if (level == 0 || ((entry & PTE_LARGE) && level <= 2)) {
			uint64_t size = 1ull << shift;
			*gpa = (entry & PTE_ADDR_MASK & ~(size - 1)) + (linear & (size - 1));
			return FERR_OK;
		}
	}
}

int guest_translate(const struct guest_paging *p, const struct guest_ram *m, uint64_t linear,
		    uint64_t *gpa)
{
	if (!(p->cr0 & CR0_PG)) {
		*gpa = linear & LIMIT_32BIT;
		return FERR_OK;
	}
	if (!(p->efer & EFER_LMA))
		linear &= LIMIT_32BIT;
	return p->cr4 & CR4_PAE ? walk64(p, m, linear, gpa) : walk32(p, m, linear, gpa);
}

unsigned guest_fetch_insn(const struct guest_paging *p, const struct guest_ram *m, uint64_t rip,
			  uint8_t *buf, unsigned max)
{
	uint64_t linear = p->cs_base + rip;
	unsigned got = 0;

	if (max > INSN_MAX_BYTES)
		max = INSN_MAX_BYTES;
	if (!p->mode64)
		linear &= LIMIT_32BIT;
	while (got < max) {
		uint64_t gpa;
		if (guest_translate(p, m, linear + got, &gpa) || gpa >= m->bytes)
			break;
		/* Up to the end of this page (the next may map elsewhere, or nowhere). */
		unsigned chunk = (unsigned)(PAGE_BYTES - ((linear + got) & PAGE_OFFSET_MASK));
		if (chunk > max - got)
			chunk = max - got;
		if (chunk > m->bytes - gpa)
			chunk = (unsigned)(m->bytes - gpa);
		memcpy(buf + got, m->ram + gpa, chunk);
		got += chunk;
	}
	return got;
}

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
