/* Host tests of the register file's checks and helpers (arch/x86/cpu_state.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "x86_fixtures.h"

typedef void (*mutation)(struct x86_cpu_state *c);
#define MUTATION(name, body) static void name(struct x86_cpu_state *c) { body; }

MUTATION(cr0_high_bits, c->cr0 |= 1ull << 40)
MUTATION(cr0_pg_without_pe, c->cr0 &= ~1ull)
MUTATION(cr0_nw_without_cd, c->cr0 |= 1ull << 29)
MUTATION(cr4_vmxe, c->cr4 |= 1ull << 13)
MUTATION(cr4_no_pae_in_long_mode, c->cr4 &= ~(1ull << 5))
MUTATION(cr3_beyond_phys, c->cr3 = 1ull << 45)
MUTATION(efer_reserved, c->efer |= 1ull << 20)
MUTATION(efer_lma_without_lme, c->efer = 0x400)
MUTATION(rflags_bit1_clear, c->rflags = 0)
MUTATION(rflags_reserved, c->rflags |= 1ull << 3)
MUTATION(rflags_vm_in_long_mode, c->rflags |= 1ull << 17)
MUTATION(rip_not_canonical, c->rip = 0x0000800000000000ull)
MUTATION(dr7_high, c->dr7 |= 1ull << 33)
MUTATION(cs_reserved_ar, c->seg[SEG_CS].access |= 1u << 9)
MUTATION(cs_unusable, c->seg[SEG_CS].access |= 1u << 16)
MUTATION(cs_data_type, c->seg[SEG_CS].access = (c->seg[SEG_CS].access & ~0xfu) | 0x1)
MUTATION(cs_l_and_d, c->seg[SEG_CS].access |= 1u << 14)
MUTATION(cs_not_present, c->seg[SEG_CS].access &= ~0x80u)
MUTATION(ss_code, c->seg[SEG_SS].access = 0xc09b)
MUTATION(ds_not_accessed, c->seg[SEG_DS].access &= ~1u)
MUTATION(ds_granularity, c->seg[SEG_DS].limit = 0xffff0000)
MUTATION(ds_base_high, c->seg[SEG_DS].base = 1ull << 32)
MUTATION(fs_base_not_canonical, c->seg[SEG_FS].base = 0x0001000000000000ull)
MUTATION(tr_unusable, c->seg[SEG_TR].access |= 1u << 16)
MUTATION(tr_16bit_in_long_mode, c->seg[SEG_TR].access = 0x83)
MUTATION(tr_in_ldt, c->seg[SEG_TR].selector |= 4)
MUTATION(ldtr_wrong_type, c->seg[SEG_LDTR].access = 0x89)
MUTATION(gdtr_limit, c->gdtr_limit = 0x10000)
MUTATION(idtr_base, c->idtr_base = 0x0000900000000000ull)
MUTATION(pat_reserved_type, c->pat = 0x0007040600070402ull)
MUTATION(debugctl_set, c->debugctl = 1)
MUTATION(lstar_not_canonical, c->lstar = 0x8000000000000000ull)
MUTATION(sfmask_high, c->sfmask = 1ull << 32)
MUTATION(sysenter_eip, c->sysenter_eip = 0x00f0000000000000ull)
MUTATION(interruptibility_both, c->interruptibility = 3)
MUTATION(interruptibility_reserved, c->interruptibility = 1u << 5)
MUTATION(activity_shutdown, c->activity = 2)
MUTATION(pending_debug_reserved, c->pending_debug = 1ull << 20)
MUTATION(event_software, c->pending_event = (1u << 31) | (4u << 8) | 0x80)
MUTATION(event_gp_without_error, c->pending_event = (1u << 31) | (3u << 8) | 13)
MUTATION(event_ud_with_error, c->pending_event = (1u << 31) | (1u << 11) | (3u << 8) | 6)
MUTATION(event_nmi_vector, c->pending_event = (1u << 31) | (2u << 8) | 5)
MUTATION(event_invalid_with_data, c->pending_error = 5)
MUTATION(mxcsr_reserved, c->fxsave[FXSAVE_MXCSR_OFFSET + 2] = 1)

static const struct {
	const char *name;
	mutation fn;
} invalid[] = {
#define M(n) { #n, n }
	M(cr0_high_bits), M(cr0_pg_without_pe), M(cr0_nw_without_cd), M(cr4_vmxe),
	M(cr4_no_pae_in_long_mode), M(cr3_beyond_phys), M(efer_reserved), M(efer_lma_without_lme),
	M(rflags_bit1_clear), M(rflags_reserved), M(rflags_vm_in_long_mode), M(rip_not_canonical),
	M(dr7_high), M(cs_reserved_ar), M(cs_unusable), M(cs_data_type), M(cs_l_and_d),
	M(cs_not_present), M(ss_code), M(ds_not_accessed), M(ds_granularity), M(ds_base_high),
	M(fs_base_not_canonical), M(tr_unusable), M(tr_16bit_in_long_mode), M(tr_in_ldt),
	M(ldtr_wrong_type), M(gdtr_limit), M(idtr_base), M(pat_reserved_type), M(debugctl_set),
	M(lstar_not_canonical), M(sfmask_high), M(sysenter_eip), M(interruptibility_both),
	M(interruptibility_reserved), M(activity_shutdown), M(pending_debug_reserved),
	M(event_software), M(event_gp_without_error), M(event_ud_with_error), M(event_nmi_vector),
	M(event_invalid_with_data), M(mxcsr_reserved),
#undef M
};

TEST(a_fresh_guest_state_is_valid)
{
	struct x86_state_limits l = bochs_limits();
	struct x86_cpu_state c;
	const char *why = NULL;

	fresh_cpu(&c);
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);
}

TEST(each_invalid_value_is_refused_with_a_reason)
{
	struct x86_state_limits l = bochs_limits();
	for (unsigned i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct x86_cpu_state c;
		const char *why = NULL;
		fresh_cpu(&c);
		invalid[i].fn(&c);
		int err = x86_cpu_state_validate(&c, &l, &why);
		if (err != FERR_INVAL || !why)
			printf("  mutation %s: err=%d\n", invalid[i].name, err);
		CHECK_EQ_I(err, FERR_INVAL);
		CHECK(why != NULL);
	}
}

TEST(valid_variants_are_accepted)
{
	struct x86_state_limits l = bochs_limits();
	const char *why = NULL;
	struct x86_cpu_state c;

	fresh_cpu(&c);
	c.activity = 1;   /* halted */
	c.pending_event = (1u << 31) | (3u << 8) | (1u << 11) | 14;   /* #PF with an error code */
	c.pending_error = 2;
	c.interruptibility = 1;
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);

	/* 32-bit protected mode without paging (unrestricted guest allows PG=0). */
	fresh_cpu(&c);
	c.cr0 = 0x11;
	c.efer = 0;
	c.cr4 = 0;
	c.seg[SEG_CS].access = 0xc09b;
	c.seg[SEG_TR].access = 0x8b;
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);
}

TEST(pae_paging_checks_the_pdptes)
{
	struct x86_state_limits l = bochs_limits();
	const char *why = NULL;
	struct x86_cpu_state c;

	fresh_cpu(&c);   /* 32-bit code with PAE paging: VM entry takes the PDPTEs from the state */
	c.efer = 0;
	c.seg[SEG_CS].access = 0xc09b;
	c.pdpte[0] = 0x5001;
	c.pdpte[3] = 0x7000;   /* not present: its other bits do not matter */
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);
	c.pdpte[1] = 0x6001 | (1ull << 7);
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), FERR_INVAL);
	CHECK_STR(why, "a PDPTE sets reserved bits");
	c.pdpte[1] = (1ull << 40) | 1;   /* beyond MAXPHYADDR (39) */
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), FERR_INVAL);
	/* In long mode the PDPTE fields are unused and not checked. */
	fresh_cpu(&c);
	c.pdpte[1] = 0x6001 | (1ull << 7);
	CHECK_EQ_I(x86_cpu_state_validate(&c, &l, &why), 0);
}

TEST(canonical_addresses)
{
	CHECK(x86_canonical(0));
	CHECK(x86_canonical(0x00007fffffffffffull));
	CHECK(x86_canonical(0xffff800000000000ull));
	CHECK(!x86_canonical(0x0000800000000000ull));
	CHECK(!x86_canonical(0xfff0000000000000ull));
}

TEST(pat_memory_types)
{
	CHECK(x86_pat_valid(PAT_POWER_ON));
	CHECK(!x86_pat_valid(0x0007040600070402ull));   /* type 2 */
	CHECK(!x86_pat_valid(0x0307040600070406ull));   /* type 3 in the last entry */
	CHECK(!x86_pat_valid(0x0008040600070406ull));   /* above 7 */
}

TEST(descriptors_match_the_sdm_layout)
{
	/* Flat 64-bit code and flat 32-bit data, as every 64-bit GDT has them. */
	CHECK_EQ_U(x86_segment_descriptor(0, DESC_LIMIT_FLAT, 0xa09b), 0x00af9b000000ffffull);
	CHECK_EQ_U(x86_segment_descriptor(0, DESC_LIMIT_FLAT, 0xc093), 0x00cf93000000ffffull);
	/* A busy 64-bit TSS at 0x12345678 with limit 0x67: base split over 39:16 and 63:56. */
	CHECK_EQ_U(x86_segment_descriptor(0x12345678, 0x67, 0x8b), 0x12008b3456780067ull);
}

TEST(mxcsr_is_read_from_the_fxsave_image)
{
	struct x86_cpu_state c;

	fresh_cpu(&c);
	CHECK_EQ_U(x86_mxcsr(&c), MXCSR_INIT);
}

int main(void)
{
	return run_tests();
}
