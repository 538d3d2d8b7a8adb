/* Host tests of the guest-state codec and its validation (kernel/vm/snapshot.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "kernel/vm/snapshot.h"

#include <stdlib.h>
#include <string.h>

/* What Bochs (tigerlake) reports for the fixed bits, and Ferry's CR4 policy. */
static struct vm_state_limits limits(void)
{
	struct vm_state_limits l;
	memset(&l, 0, sizeof(l));
	l.cr0_fixed0 = 0x80000021;
	l.cr0_fixed1 = 0xffffffff;
	l.cr4_fixed0 = 0x2000;
	l.cr4_fixed1 = 0x3727ff;
	l.cr0_guest_owned_ok = 0x80000001;
	l.cr4_allowed = 0x106bc;
	l.phys_bits = 39;
	l.mxcsr_mask = 0xffff;
	l.host = (struct cpu_features){ .leaf1_ecx = 0x02982203, .leaf1_edx = 0x078bfbff,
					.ext1_edx = 0x24100800 };
	return l;
}

/* The state a fresh guest enters with (docs/guest-abi.md, "Entry state"). */
static void fresh(struct vm_saved_state *s)
{
	memset(s, 0, sizeof(*s));
	struct vm_cpu_state *c = &s->cpu;
	for (unsigned i = 0; i < GPR_COUNT; i++)
		c->gpr[i] = 0x1111111111111111ull * i;
	c->gpr[GPR_RSP] = 0x120000;
	c->rip = 0x100080;
	c->rflags = 0x2;
	c->cr0 = 0x80010033;
	c->cr3 = 0x4000;
	c->cr4 = 0x620;
	c->cr2 = 0x1234;
	c->dr7 = 0x400;
	c->dr6 = 0xffff0ff0;
	c->efer = 0x500;
	c->pat = 0x0007040600070406ull;
	for (unsigned i = 0; i < SEG_COUNT; i++)
		c->seg[i] = (struct vm_segment_state){ 0x10, 0, 0xffffffff, 0xc093 };
	c->seg[SEG_CS] = (struct vm_segment_state){ 0x08, 0, 0xffffffff, 0xa09b };
	c->seg[SEG_LDTR] = (struct vm_segment_state){ 0, 0, 0, 1u << 16 };
	c->seg[SEG_TR] = (struct vm_segment_state){ 0x18, 0x3000, 0x67, 0x8b };
	c->gdtr_base = 0x2000;
	c->gdtr_limit = 0x27;
	c->lstar = 0xffffffff81000000ull;
	c->kernel_gs_base = 0xffff888000000000ull;
	uint32_t mxcsr = 0x1f80;
	memcpy(c->fxsave + FXSAVE_MXCSR_OFFSET, &mxcsr, 4);
	c->fxsave[0] = 0x7f;
	c->fxsave[1] = 0x03;
	s->guest_tsc = 123456789;
	s->tsc_hz = 90000000;
	s->clock_ns_base = 5;
	s->cpuid = (struct cpu_features){ .leaf1_ecx = 0x00982201, .leaf1_edx = 0x078bfbff };
	s->uart.lcr = 3;
	s->uart.scr = 0x5a;
	memcpy(s->uart_line, "counter 4", 9);
	s->uart_line_len = 9;
}

static uint8_t blob[16384];

static long encode_fresh(void)
{
	struct vm_saved_state s;
	fresh(&s);
	return vm_state_encode(&s, blob, sizeof(blob));
}

TEST(round_trip_is_exact)
{
	struct vm_saved_state s, back;
	fresh(&s);
	long n = vm_state_encode(&s, blob, sizeof(blob));
	CHECK(n > 0 && n < 4096);
	const char *why = NULL;
	CHECK_EQ_I(vm_state_decode(blob, (size_t)n, &back, &why), 0);
	CHECK(memcmp(&s, &back, sizeof(s)) == 0);
	struct vm_state_limits l = limits();
	CHECK_EQ_I(vm_state_validate(&back, &l, &why), 0);
}

TEST(encode_reports_too_small_buffers)
{
	struct vm_saved_state s;
	fresh(&s);
	long n = vm_state_encode(&s, blob, sizeof(blob));
	for (size_t cap = 0; cap < (size_t)n; cap += 37)
		CHECK_EQ_I(vm_state_encode(&s, blob, cap), FERR_TOOBIG);
	CHECK_EQ_I(vm_state_encode(&s, blob, (size_t)n - 1), FERR_TOOBIG);
	CHECK_EQ_I(vm_state_encode(&s, blob, (size_t)n), n);
}

TEST(every_truncation_is_rejected)
{
	long n = encode_fresh();
	struct vm_saved_state s;
	const char *why;
	for (long len = 0; len < n; len++) {
		uint8_t *copy = malloc((size_t)len + 1);   /* exact size: ASan catches over-reads */
		memcpy(copy, blob, (size_t)len);
		CHECK(vm_state_decode(copy, (size_t)len, &s, &why) < 0);
		free(copy);
	}
}

/* Offsets in the encoding: header 8 bytes, then sections of a 12-byte header and a payload. */
#define FIRST_SECTION 8

TEST(malformed_headers_and_sections)
{
	long n = encode_fresh();
	struct vm_saved_state s;
	const char *why = NULL;
	uint8_t copy[4096];

	memcpy(copy, blob, (size_t)n);
	copy[0] ^= 1;
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);
	CHECK_STR(why, "not a Ferry guest state (bad magic)");

	memcpy(copy, blob, (size_t)n);
	copy[4] = 2;   /* format version */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);

	memcpy(copy, blob, (size_t)n);
	copy[6] = 7;   /* section count */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION] = 99;   /* unknown tag */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);
	CHECK_STR(why, "guest state has an unknown section");

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 4] = 2;   /* section version */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 6] = 1;   /* reserved */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 8] -= 8;   /* payload shorter than the section's content */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 9] = 0x7f;   /* length beyond the buffer */
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	/* The first section twice (second section's tag rewritten to the first's). */
	memcpy(copy, blob, (size_t)n);
	uint32_t len1;
	memcpy(&len1, copy + FIRST_SECTION + 8, 4);
	copy[FIRST_SECTION + 12 + len1] = copy[FIRST_SECTION];
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n, &s, &why), FERR_INVAL);
	CHECK_STR(why, "guest state has a section twice");

	memcpy(copy, blob, (size_t)n);
	copy[n] = 0;
	CHECK_EQ_I(vm_state_decode(copy, (size_t)n + 1, &s, &why), FERR_INVAL);
	CHECK_STR(why, "guest state has trailing bytes");
}

TEST(random_corruption_never_crashes)
{
	long n = encode_fresh();
	struct vm_saved_state s;
	struct vm_state_limits l = limits();
	const char *why;
	uint8_t copy[4096];
	srand(2026);
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, blob, (size_t)n);
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++)
			copy[rand() % n] ^= (uint8_t)(1u << (rand() % 8));
		if (vm_state_decode(copy, (size_t)n, &s, &why) == 0)
			(void)vm_state_validate(&s, &l, &why);
	}
	CHECK(1);
}

typedef void (*mutation)(struct vm_saved_state *s);
#define MUTATION(name, body) static void name(struct vm_saved_state *s) { body; }

MUTATION(cr0_high_bits, s->cpu.cr0 |= 1ull << 40)
MUTATION(cr0_pg_without_pe, s->cpu.cr0 &= ~1ull)
MUTATION(cr0_nw_without_cd, s->cpu.cr0 |= 1ull << 29)
MUTATION(cr4_vmxe, s->cpu.cr4 |= 1ull << 13)
MUTATION(cr4_no_pae_in_long_mode, s->cpu.cr4 &= ~(1ull << 5))
MUTATION(cr3_beyond_phys, s->cpu.cr3 = 1ull << 45)
MUTATION(efer_reserved, s->cpu.efer |= 1ull << 20)
MUTATION(efer_lma_without_lme, s->cpu.efer = 0x400)
MUTATION(rflags_bit1_clear, s->cpu.rflags = 0)
MUTATION(rflags_reserved, s->cpu.rflags |= 1ull << 3)
MUTATION(rflags_vm_in_long_mode, s->cpu.rflags |= 1ull << 17)
MUTATION(rip_not_canonical, s->cpu.rip = 0x0000800000000000ull)
MUTATION(dr7_high, s->cpu.dr7 |= 1ull << 33)
MUTATION(cs_reserved_ar, s->cpu.seg[SEG_CS].access |= 1u << 9)
MUTATION(cs_unusable, s->cpu.seg[SEG_CS].access |= 1u << 16)
MUTATION(cs_data_type, s->cpu.seg[SEG_CS].access = (s->cpu.seg[SEG_CS].access & ~0xfu) | 0x1)
MUTATION(cs_l_and_d, s->cpu.seg[SEG_CS].access |= 1u << 14)
MUTATION(cs_not_present, s->cpu.seg[SEG_CS].access &= ~0x80u)
MUTATION(ss_code, s->cpu.seg[SEG_SS].access = 0xc09b)
MUTATION(ds_not_accessed, s->cpu.seg[SEG_DS].access &= ~1u)
MUTATION(ds_granularity, s->cpu.seg[SEG_DS].limit = 0xffff0000)
MUTATION(ds_base_high, s->cpu.seg[SEG_DS].base = 1ull << 32)
MUTATION(fs_base_not_canonical, s->cpu.seg[SEG_FS].base = 0x0001000000000000ull)
MUTATION(tr_unusable, s->cpu.seg[SEG_TR].access |= 1u << 16)
MUTATION(tr_16bit_in_long_mode, s->cpu.seg[SEG_TR].access = 0x83)
MUTATION(tr_in_ldt, s->cpu.seg[SEG_TR].selector |= 4)
MUTATION(ldtr_wrong_type, s->cpu.seg[SEG_LDTR].access = 0x89)
MUTATION(gdtr_limit, s->cpu.gdtr_limit = 0x10000)
MUTATION(idtr_base, s->cpu.idtr_base = 0x0000900000000000ull)
MUTATION(pat_reserved_type, s->cpu.pat = 0x0007040600070402ull)
MUTATION(debugctl_set, s->cpu.debugctl = 1)
MUTATION(lstar_not_canonical, s->cpu.lstar = 0x8000000000000000ull)
MUTATION(sfmask_high, s->cpu.sfmask = 1ull << 32)
MUTATION(sysenter_eip, s->cpu.sysenter_eip = 0x00f0000000000000ull)
MUTATION(interruptibility_both, s->cpu.interruptibility = 3)
MUTATION(interruptibility_reserved, s->cpu.interruptibility = 1u << 5)
MUTATION(activity_shutdown, s->cpu.activity = 2)
MUTATION(pending_debug_reserved, s->cpu.pending_debug = 1ull << 20)
MUTATION(event_software, s->cpu.pending_event = (1u << 31) | (4u << 8) | 0x80)
MUTATION(event_gp_without_error, s->cpu.pending_event = (1u << 31) | (3u << 8) | 13)
MUTATION(event_ud_with_error, s->cpu.pending_event = (1u << 31) | (1u << 11) | (3u << 8) | 6)
MUTATION(event_nmi_vector, s->cpu.pending_event = (1u << 31) | (2u << 8) | 5)
MUTATION(event_invalid_with_data, s->cpu.pending_error = 5)
MUTATION(mxcsr_reserved, s->cpu.fxsave[FXSAVE_MXCSR_OFFSET + 2] = 1)
MUTATION(tsc_rate_zero, s->tsc_hz = 0)
MUTATION(uart_line_too_long, s->uart_line_len = VDEV_UART_LINE_MAX)
MUTATION(uart_ier_reserved, s->uart.ier = 0x10)

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
	M(event_invalid_with_data), M(mxcsr_reserved), M(tsc_rate_zero), M(uart_line_too_long),
	M(uart_ier_reserved),
#undef M
};

TEST(each_invalid_value_is_refused_with_a_reason)
{
	struct vm_state_limits l = limits();
	for (unsigned i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct vm_saved_state s;
		const char *why = NULL;
		fresh(&s);
		invalid[i].fn(&s);
		int err = vm_state_validate(&s, &l, &why);
		if (err != FERR_INVAL || !why)
			printf("  mutation %s: err=%d\n", invalid[i].name, err);
		CHECK_EQ_I(err, FERR_INVAL);
		CHECK(why != NULL);
	}
}

TEST(valid_variants_are_accepted)
{
	struct vm_state_limits l = limits();
	const char *why = NULL;
	struct vm_saved_state s;

	fresh(&s);
	s.cpu.activity = 1;   /* halted */
	s.cpu.pending_event = (1u << 31) | (3u << 8) | (1u << 11) | 14;   /* #PF with an error code */
	s.cpu.pending_error = 2;
	s.cpu.interruptibility = 1;
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), 0);

	/* 32-bit protected mode without paging (unrestricted guest allows PG=0). */
	fresh(&s);
	s.cpu.cr0 = 0x11;
	s.cpu.efer = 0;
	s.cpu.cr4 = 0;
	s.cpu.seg[SEG_CS].access = 0xc09b;
	s.cpu.seg[SEG_TR].access = 0x8b;
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), 0);
}

TEST(pae_paging_checks_the_pdptes)
{
	struct vm_state_limits l = limits();
	const char *why = NULL;
	struct vm_saved_state s;

	fresh(&s);   /* 32-bit code with PAE paging: VM entry takes the PDPTEs from the state */
	s.cpu.efer = 0;
	s.cpu.seg[SEG_CS].access = 0xc09b;
	s.cpu.pdpte[0] = 0x5001;
	s.cpu.pdpte[3] = 0x7000;   /* not present: its other bits do not matter */
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), 0);
	s.cpu.pdpte[1] = 0x6001 | (1ull << 7);
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), FERR_INVAL);
	CHECK_STR(why, "a PDPTE sets reserved bits");
	s.cpu.pdpte[1] = (1ull << 40) | 1;   /* beyond MAXPHYADDR (39) */
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), FERR_INVAL);
	/* In long mode the PDPTE fields are unused and not checked. */
	fresh(&s);
	s.cpu.pdpte[1] = 0x6001 | (1ull << 7);
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), 0);
}

TEST(missing_cpu_features_are_not_supported)
{
	struct vm_state_limits l = limits();
	const char *why = NULL;
	struct vm_saved_state s;

	fresh(&s);
	s.cpuid.leaf7_ebx = 1u << 5;   /* AVX2, which this host lacks */
	CHECK_EQ_I(vm_state_validate(&s, &l, &why), FERR_NOTSUP);
	CHECK_STR(why, "the guest was given CPU features this host lacks");
}

int main(void)
{
	return run_tests();
}
