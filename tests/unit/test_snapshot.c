/* Host tests of the snapshot codec and its validation (kernel/vm/snapshot.c). */
#include "check.h"
#include "kernel/lib/errors.h"
#include "arch/x86/vcpu.h"
#include "kernel/vm/snapshot.h"
#include "x86_fixtures.h"

#include <stdlib.h>
#include <string.h>

/* A fresh guest's snapshot: its entry state and device state mid-line. */
static void fresh(struct vm_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	fresh_cpu(&s->cpu);
	s->guest_tsc = 123456789;
	s->tsc_hz = 90000000;
	s->clock_ns_base = 5;
	s->vendor = VCPU_VENDOR_INTEL;
	s->cpuid = (struct cpu_features){ .leaf1_ecx = 0x00982201, .leaf1_edx = 0x078bfbff };
	s->uart.lcr = 3;
	s->uart.scr = 0x5a;
	memcpy(s->uart_line, "counter 4", 9);
	s->uart_line_len = 9;
}

static uint8_t blob[16384];

/* Header, 8 section headers, and the payloads of format 1 (docs/vmx.md, "Saved state"); CPUID v2, MSRs v2. */
#define WIRE_BYTES_V1 (8 + 8 * 12 + 32 * 8 + (8 * 18 + 2 * 12) + 12 * 8 + 512 + 24 + 4 * 8 + \
		       (4 + 8 * 4) + (7 + 4 + VDEV_UART_LINE_MAX))

static long encode_fresh(void)
{
	struct vm_snapshot s;
	fresh(&s);
	return vm_snapshot_encode(&s, blob, sizeof(blob));
}

TEST(round_trip_is_exact)
{
	struct vm_snapshot s, back;
	fresh(&s);
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	CHECK(n > 0 && n < 4096);
	const char *why = NULL;
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), 0);
	CHECK(memcmp(&s, &back, sizeof(s)) == 0);
	struct x86_state_limits l = bochs_limits();
	CHECK_EQ_I(vm_snapshot_validate(&back, &l, &why), 0);
}

/* The wire bytes are a format between hosts: header "FRYS", format 1, 8 sections, fixed sizes. */
TEST(wire_format_is_stable)
{
	long n = encode_fresh();
	static const uint8_t header[] = { 'F', 'R', 'Y', 'S', 1, 0, 8, 0 };
	CHECK(memcmp(blob, header, sizeof(header)) == 0);
	CHECK_EQ_I(n, WIRE_BYTES_V1);
	CHECK_EQ_U(blob[8], SNAP_TAG_REGS);   /* the first section: registers, version 1 */
	CHECK_EQ_U(blob[12], 1);
}

TEST(encode_reports_too_small_buffers)
{
	struct vm_snapshot s;
	fresh(&s);
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	for (size_t cap = 0; cap < (size_t)n; cap += 37)
		CHECK_EQ_I(vm_snapshot_encode(&s, blob, cap), FERR_TOOBIG);
	CHECK_EQ_I(vm_snapshot_encode(&s, blob, (size_t)n - 1), FERR_TOOBIG);
	CHECK_EQ_I(vm_snapshot_encode(&s, blob, (size_t)n), n);
}

TEST(every_truncation_is_rejected)
{
	long n = encode_fresh();
	struct vm_snapshot s;
	const char *why;
	for (long len = 0; len < n; len++) {
		uint8_t *copy = malloc((size_t)len + 1);   /* exact size: ASan catches over-reads */
		memcpy(copy, blob, (size_t)len);
		CHECK(vm_snapshot_decode(copy, (size_t)len, &s, &why) < 0);
		free(copy);
	}
}

/* Offsets in the encoding: header 8 bytes, then sections of a 12-byte header and a payload. */
#define FIRST_SECTION 8

TEST(malformed_headers_and_sections)
{
	long n = encode_fresh();
	struct vm_snapshot s;
	const char *why = NULL;
	uint8_t copy[4096];

	memcpy(copy, blob, (size_t)n);
	copy[0] ^= 1;
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);
	CHECK_STR(why, "not a Ferry guest state (bad magic)");

	memcpy(copy, blob, (size_t)n);
	copy[4] = 2;   /* format version */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);

	memcpy(copy, blob, (size_t)n);
	copy[6] = 7;   /* section count */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION] = 99;   /* unknown tag */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);
	CHECK_STR(why, "guest state has an unknown section");

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 4] = 2;   /* section version */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_NOTSUP);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 6] = 1;   /* reserved */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 8] -= 8;   /* payload shorter than the section's content */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	memcpy(copy, blob, (size_t)n);
	copy[FIRST_SECTION + 9] = 0x7f;   /* length beyond the buffer */
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);

	/* The first section twice (second section's tag rewritten to the first's). */
	memcpy(copy, blob, (size_t)n);
	uint32_t len1;
	memcpy(&len1, copy + FIRST_SECTION + 8, 4);
	copy[FIRST_SECTION + 12 + len1] = copy[FIRST_SECTION];
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n, &s, &why), FERR_INVAL);
	CHECK_STR(why, "guest state has a section twice");

	memcpy(copy, blob, (size_t)n);
	copy[n] = 0;
	CHECK_EQ_I(vm_snapshot_decode(copy, (size_t)n + 1, &s, &why), FERR_INVAL);
	CHECK_STR(why, "guest state has trailing bytes");
}

/*
 * Random bit flips in a valid blob. Nothing crashes; a blob that decodes encodes back
 * to exactly its bytes (the decoder accepts nothing the encoder would not write); a
 * refusal always says why; a state that validates has every property validation
 * exists for (those each_invalid_value_is_refused_with_a_reason breaks one at a time).
 * Some flips must decode and validate and some must be refused, or this proves nothing.
 */
#define UART_IER_RESERVED 0xf0u   /* 16550: IER bits 7:4 */
#define UART_MCR_RESERVED 0xe0u   /* 16550: MCR bits 7:5 */

TEST(random_corruption_never_crashes)
{
	long n = encode_fresh();
	struct vm_snapshot s;
	struct x86_state_limits l = bochs_limits();
	const char *why;
	uint8_t copy[4096], again[4096];
	unsigned decoded = 0, refused = 0, validated = 0, invalid = 0;
	unsigned not_canonical = 0, silent = 0, let_through = 0;

	srand(2026);
	for (int round = 0; round < 20000; round++) {
		memcpy(copy, blob, (size_t)n);
		int flips = 1 + rand() % 4;
		for (int f = 0; f < flips; f++)
			copy[rand() % n] ^= (uint8_t)(1u << (rand() % 8));
		why = NULL;
		if (vm_snapshot_decode(copy, (size_t)n, &s, &why) != 0) {
			refused++;
			silent += why == NULL;
			continue;
		}
		decoded++;
		not_canonical += vm_snapshot_encode(&s, again, sizeof(again)) != n ||
				 memcmp(again, copy, (size_t)n) != 0;
		why = NULL;
		if (vm_snapshot_validate(&s, &l, &why) != 0) {
			invalid++;
			silent += why == NULL;
			continue;
		}
		validated++;
		let_through += s.tsc_hz == 0 || s.uart_line_len >= VDEV_UART_LINE_MAX ||
			       (s.uart.ier & UART_IER_RESERVED) || (s.uart.mcr & UART_MCR_RESERVED) ||
			       !cpu_features_subset(&s.cpuid, &l.host, NULL);
	}
	CHECK_EQ_U(not_canonical, 0);
	CHECK_EQ_U(silent, 0);
	CHECK_EQ_U(let_through, 0);
	CHECK(refused > 0 && decoded > 0 && validated > 0 && invalid > 0);
	if (!(refused && decoded && validated && invalid))
		printf("  refused %u decoded %u validated %u invalid %u\n", refused, decoded, validated,
		       invalid);
}

typedef void (*mutation)(struct vm_snapshot *s);
#define MUTATION(name, body) static void name(struct vm_snapshot *s) { body; }

MUTATION(cpu_state, s->cpu.cr0 |= 1ull << 40)   /* the CPU checks: test_cpu_state.c */
MUTATION(tsc_rate_zero, s->tsc_hz = 0)
MUTATION(uart_line_too_long, s->uart_line_len = VDEV_UART_LINE_MAX)
MUTATION(uart_ier_reserved, s->uart.ier = 0x10)
MUTATION(spec_ctrl_not_offered, s->cpu.spec_ctrl = 1)   /* IBRS, but the mask shows no SPEC_CTRL */

static const struct {
	const char *name;
	mutation fn;
} invalid[] = {
#define M(n) { #n, n }
	M(cpu_state), M(tsc_rate_zero), M(uart_line_too_long), M(uart_ier_reserved),
	M(spec_ctrl_not_offered),
#undef M
};

TEST(each_invalid_value_is_refused_with_a_reason)
{
	struct x86_state_limits l = bochs_limits();
	for (unsigned i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct vm_snapshot s;
		const char *why = NULL;
		fresh(&s);
		invalid[i].fn(&s);
		int err = vm_snapshot_validate(&s, &l, &why);
		if (err != FERR_INVAL || !why)
			printf("  mutation %s: err=%d\n", invalid[i].name, err);
		CHECK_EQ_I(err, FERR_INVAL);
		CHECK(why != NULL);
	}
}

TEST(missing_cpu_features_are_not_supported)
{
	struct x86_state_limits l = bochs_limits();
	const char *why = NULL;
	struct vm_snapshot s;

	fresh(&s);
	s.cpuid.leaf7_ebx = 1u << 5;   /* AVX2, which this host lacks */
	CHECK_EQ_I(vm_snapshot_validate(&s, &l, &why), FERR_NOTSUP);
	CHECK_STR(why, "the guest was given CPU features this host lacks");
}

TEST(a_state_from_another_vendor_is_refused_naming_both)
{
	struct x86_state_limits l = bochs_limits();
	const char *why = NULL;
	struct vm_snapshot s;

	fresh(&s);
	s.vendor = VCPU_VENDOR_AMD;
	CHECK_EQ_I(vm_snapshot_validate(&s, &l, &why), FERR_NOTSUP);
	CHECK_STR(why, "the guest ran on an AMD CPU (AMD-V); this host is Intel (VT-x)");
	l.vendor = VCPU_VENDOR_AMD;
	s.vendor = VCPU_VENDOR_INTEL;
	CHECK_EQ_I(vm_snapshot_validate(&s, &l, &why), FERR_NOTSUP);
	CHECK_STR(why, "the guest ran on an Intel CPU (VT-x); this host is AMD (AMD-V)");
	/* The vendor travels in the CPUID section (version 2), ahead of the mask. */
	struct vm_snapshot back;
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	CHECK(n > 0);
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), 0);
	CHECK_EQ_U(back.vendor, VCPU_VENDOR_INTEL);
}

TEST(spec_ctrl_travels_within_what_the_guest_was_shown)
{
	struct vm_snapshot s, back;
	const char *why = NULL;

	fresh(&s);
	s.cpuid.leaf7_edx = 1u << 26 | 1u << 31;   /* IBRS/IBPB and SSBD */
	s.cpu.spec_ctrl = 1 | 4;                    /* IBRS and SSBD set by the guest */
	long n = vm_snapshot_encode(&s, blob, sizeof(blob));
	CHECK(n > 0);
	CHECK_EQ_I(vm_snapshot_decode(blob, (size_t)n, &back, &why), 0);
	CHECK_EQ_U(back.cpu.spec_ctrl, 5);
	s.cpu.spec_ctrl = 2;                        /* STIBP, which it was not shown */
	struct x86_state_limits l = bochs_limits();
	l.host.leaf7_edx = s.cpuid.leaf7_edx;
	CHECK_EQ_I(vm_snapshot_validate(&s, &l, &why), FERR_INVAL);
	CHECK_STR(why, "IA32_SPEC_CTRL sets bits the guest's CPUID does not offer");
}

int main(void)
{
	return run_tests();
}
