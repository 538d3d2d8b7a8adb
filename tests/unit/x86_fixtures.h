/*
 * Shared fixtures of the host tests of the register file and the snapshot codec
 * (test_cpu_state.c, test_snapshot.c): the limits Bochs' tigerlake VT-x reports
 * and the state a fresh 64-bit guest enters with. Header-only, for tests.
 */
#ifndef FERRY_TESTS_X86_FIXTURES_H
#define FERRY_TESTS_X86_FIXTURES_H

#include "arch/x86/cpu_state.h"
#include "arch/x86/vcpu.h"

#include <string.h>

/* What Bochs (tigerlake) reports for the fixed bits, and Ferry's CR4 policy. */
static inline struct x86_state_limits bochs_limits(void)
{
	struct x86_state_limits l;
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
	l.vendor = VCPU_VENDOR_INTEL;   /* Bochs' tigerlake */
	return l;
}

/* The state a fresh guest enters with (docs/guest-abi.md, "Entry state"), with every GPR set. */
static inline void fresh_cpu(struct x86_cpu_state *c)
{
	memset(c, 0, sizeof(*c));
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
		c->seg[i] = (struct x86_segment){ 0x10, 0, 0xffffffff, 0xc093 };
	c->seg[SEG_CS] = (struct x86_segment){ 0x08, 0, 0xffffffff, 0xa09b };
	c->seg[SEG_LDTR] = (struct x86_segment){ 0, 0, 0, 1u << 16 };
	c->seg[SEG_TR] = (struct x86_segment){ 0x18, 0x3000, 0x67, 0x8b };
	c->gdtr_base = 0x2000;
	c->gdtr_limit = 0x27;
	c->lstar = 0xffffffff81000000ull;
	c->kernel_gs_base = 0xffff888000000000ull;
	uint32_t mxcsr = 0x1f80;
	memcpy(c->fxsave + FXSAVE_MXCSR_OFFSET, &mxcsr, 4);
	c->fxsave[0] = 0x7f;
	c->fxsave[1] = 0x03;
}

#endif
