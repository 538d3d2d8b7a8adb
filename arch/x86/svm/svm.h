/*
 * AMD-V on the boot CPU (AMD64 APM Vol. 2, ch. 15), the backend's host side:
 * bring-up (CPUID, VM_CR.SVMDIS, EFER.SVME, the host save area VM_HSAVE_PA),
 * the capabilities found, what every guest shares (the I/O and MSR permission
 * maps, with every bit set so that every access exits; the area VMSAVE keeps
 * Ferry's own FS, GS, TR, LDTR and syscall MSRs in while a guest runs), ASIDs
 * and the TLB flush command, and the entry stub.
 *
 * Image only; internal to arch/x86/svm/.
 */
#ifndef FERRY_ARCH_X86_SVM_SVM_H
#define FERRY_ARCH_X86_SVM_SVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"
#include "arch/x86/svm/caps.h"
#include "arch/x86/vcpu.h"

struct svm_host {
	struct svm_features features;
	uint64_t hsave_phys;        /* VM_HSAVE_PA: VMRUN keeps the host's state here */
	uint64_t host_save_phys;    /* VMSAVE/VMLOAD area for the host's FS, GS, TR, LDTR, MSRs */
	uint64_t iopm_phys;         /* SVM_IOPM_BYTES, all ones */
	uint64_t msrpm_phys;        /* SVM_MSRPM_BYTES, all ones */
	uint32_t mxcsr_mask;        /* what FXRSTOR accepts in MXCSR here */
	uint32_t phys_bits;         /* MAXPHYADDR */
	bool ready;
};

const struct svm_host *svm_host(void);

/* The seam's host calls (arch/x86/vcpu.h), for svm_backend. */
int svm_hw_init(const char **why);
bool svm_hw_ready(void);
unsigned svm_hw_capabilities(const struct vcpu_capability **list);
void svm_hw_describe(char *buf, size_t cap);
void svm_state_limits(struct x86_state_limits *out);

/* The guest ASID for a VM slot (0 is the host's); guests share one when the CPU has too few. */
uint32_t svm_asid_for_slot(unsigned slot);
/* The TLB_CONTROL value that flushes one guest's translations (all of them without flush-by-ASID). */
uint8_t svm_tlb_flush_command(void);
/* True when guests share ASIDs, so every VMRUN must flush. */
bool svm_asids_shared(void);

/*
 * The entry stub (entry.S), called with GIF clear (CLGI): loads the guest GPRs
 * but RAX and RSP (which the VMCB holds) from gpr (GPR_* order), VMLOADs the
 * guest's VMCB, VMRUNs it with the host's RFLAGS.IF set (so that a host
 * interrupt exits the guest, APM 15.21.1), and on #VMEXIT clears IF, VMSAVEs
 * the guest, stores its GPRs and VMLOADs the host's area. Returns with GIF still
 * clear: the caller sets it (STGI).
 */
void svm_enter(uint64_t vmcb_phys, uint64_t host_save_phys, uint64_t *gpr);

static inline void svm_clgi(void)
{
	__asm__ volatile("clgi" ::: "memory");
}

static inline void svm_stgi(void)
{
	__asm__ volatile("stgi" ::: "memory");
}

#endif
