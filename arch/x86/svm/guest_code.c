/*
 * The guest's code as the SVM backend reads it when the CPU does not decode for it (no
 * decode assists under QEMU's TCG): whether the guest runs 64-bit code, CS:RIP as a
 * linear address, its paging state for the page walker (arch/x86/guest_walk.h), and
 * guest RAM for the walker's reads. Used by the CR/DR intercepts (ctlreg.c) and the
 * MMIO exits of the Linux platform (platform.c). See svm_vcpu.h.
 */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/svm_vcpu.h"
#include "arch/x86/svm/vmcb_format.h"
#include "arch/x86/x86.h"
#include "kernel/lib/errors.h"
#include "kernel/memory.h"

#include <string.h>

#define LOW32    0xffffffffull
#define CPL_USER 3

bool svm_mode64(const struct vcpu *v)
{
	const struct vmcb_save *s = &v->vmcb->save;

	return (s->efer & EFER_LMA) && (svm_access_from_attrib(s->cs.attrib) & AR_L);
}

uint64_t svm_rip_linear(const struct vcpu *v)
{
	const struct vmcb_save *s = &v->vmcb->save;

	return svm_mode64(v) ? s->rip : (s->cs.base + s->rip) & LOW32;
}

void svm_guest_paging(const struct vcpu *v, struct guest_paging *p)
{
	const struct vmcb_save *s = &v->vmcb->save;

	*p = (struct guest_paging){
		.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
		.maxphyaddr = svm_host()->phys_bits,
		.gb_pages = v->cpuid->ext1_edx & CPUID_EXT1_EDX_PAGE1GB,
		.user = s->cpl == CPL_USER,
	};
}

int svm_read_guest_ram(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	const struct vcpu *v = ctx;

	if (gpa > v->ram_bytes || v->ram_bytes - gpa < len)
		return FERR_RANGE;
	memcpy(buf, phys_to_ptr(v->ram_phys + gpa), len);
	return FERR_OK;
}
