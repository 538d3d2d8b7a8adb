/*
 * The exits the VM layer finishes: port I/O (its devices) and VMCALL (its
 * hypercalls). The handlers describe the instruction in struct vcpu_exit and end
 * vcpu_run(); vcpu_complete_io / vcpu_complete_hypercall then write the result
 * and move RIP past the instruction. I/O qualification: SDM Vol. 3C 27.2.1,
 * table 27-5. See vcpu_vmx.h.
 */
#include "arch/x86/vmx/vcpu_vmx.h"

#define IO_PORT_MASK 0xffffu
#define GPR_LOW32    0xffffffffull

enum exit_action vmx_on_io(struct exit_ctx *x)
{
	uint64_t q = x->qualification;
	struct vcpu_io *io = &x->out->io;

	x->out->kind = VCPU_EXIT_IO;
	io->size = (uint8_t)((q & IO_QUAL_SIZE_MASK) + 1);
	io->port = (uint16_t)((q >> IO_QUAL_PORT_SHIFT) & IO_PORT_MASK);
	io->in = q & IO_QUAL_IN;
	io->string = q & IO_QUAL_STRING;
	io->rep = q & IO_QUAL_REP;
	io->value = io->in || io->string ? 0 : (uint32_t)x->v->gpr[GPR_RAX];
	if (io->size < 4)
		io->value &= (1u << (8 * io->size)) - 1;
	x->v->io = (struct vmx_pending_io){ io->size, io->in, io->string, io->rep };
	return EXIT_REPORT;
}

/* What IN leaves in RAX: a 32-bit destination zero-extends, narrower ones merge. */
static void set_in_result(uint64_t *rax, unsigned size, uint64_t value)
{
	if (size == 4)
		*rax = value & GPR_LOW32;
	else {
		uint64_t mask = (1ull << (8 * size)) - 1;
		*rax = (*rax & ~mask) | (value & mask);
	}
}

void vmx_vcpu_complete_io(struct vcpu *v, uint32_t value)
{
	vmx_vcpu_load(v);
	if (v->io.string) {
		/* INS/OUTS are not emulated: skipped (a REP prefix completes at once). */
		if (v->io.rep)
			v->gpr[GPR_RCX] = 0;
	} else if (v->io.in) {
		set_in_result(&v->gpr[GPR_RAX], v->io.size, value);
	}
	vmx_skip_instruction();
}

enum exit_action vmx_on_vmcall(struct exit_ctx *x)
{
	const uint64_t *g = x->v->gpr;
	uint32_t ss_access = (uint32_t)vmread(VMCS_GUEST_ES_AR + 2 * SEG_SS);

	x->out->kind = VCPU_EXIT_HYPERCALL;
	x->out->hypercall = (struct vcpu_hypercall){
		.nr = g[GPR_RAX],
		.arg = { g[GPR_RDI], g[GPR_RSI], g[GPR_RDX] },
		.cpl = AR_DPL(ss_access),   /* SS.DPL is the CPL (SDM Vol. 3C 24.4.1) */
	};
	return EXIT_REPORT;
}

void vmx_vcpu_complete_hypercall(struct vcpu *v, uint64_t result)
{
	vmx_vcpu_load(v);
	v->gpr[GPR_RAX] = result;
	vmx_skip_instruction();
}
