/*
 * Guest entry and host interrupts for the SVM backend (AMD64 APM Vol. 2, 15.5
 * VMRUN, 15.5.2 VMLOAD/VMSAVE, 15.21 interrupts); contracts in svm.h and timer.h.
 *
 * svm_enter(vmcb_phys %rdi, host_save_phys %rsi, gpr %rdx), called with GIF
 * clear: VMRUN loads and saves the guest's RAX, RSP, RIP, RFLAGS, CRs, EFER, DR6,
 * DR7 and ES/CS/SS/DS, GDTR, IDTR itself; FS, GS, TR, LDTR, KERNEL_GS_BASE, STAR,
 * LSTAR, CSTAR, SFMASK and SYSENTER go through VMLOAD/VMSAVE of the guest's VMCB,
 * and Ferry's own come back from its host save area. The other GPRs move here.
 * gpr[] follows GPR_*: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (rax, rsp unused).
 * After #VMEXIT the return stack buffer is refilled before the first RET
 * (arch/x86/spec_asm.h); VERW on entry is for Intel parts only (spec_ctrl.h).
 */
#include "arch/x86/spec_asm.h"

#define G(n) (8 * (n))

	.text
	.globl svm_enter
	.type svm_enter, @function
svm_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rsi                      /* the host save area, for after the exit */
	pushq %rdx                      /* the gpr array */
	movq %rdi, %rax                 /* VMRUN, VMLOAD and VMSAVE take the VMCB in RAX */
	movq G(1)(%rdx), %rcx
	movq G(3)(%rdx), %rbx
	movq G(5)(%rdx), %rbp
	movq G(6)(%rdx), %rsi
	movq G(7)(%rdx), %rdi
	movq G(8)(%rdx), %r8
	movq G(9)(%rdx), %r9
	movq G(10)(%rdx), %r10
	movq G(11)(%rdx), %r11
	movq G(12)(%rdx), %r12
	movq G(13)(%rdx), %r13
	movq G(14)(%rdx), %r14
	movq G(15)(%rdx), %r15
	movq G(2)(%rdx), %rdx
	vmload %rax
	sti                             /* GIF is clear: nothing is taken, but VMRUN saves IF=1 */
	vmrun %rax
	cli                             /* #VMEXIT restored the host's RAX (the VMCB) and IF=1 */
	vmsave %rax
	pushq %rdx                      /* the guest's RDX */
	movq 8(%rsp), %rdx
	movq %rcx, G(1)(%rdx)
	movq %rbx, G(3)(%rdx)
	movq %rbp, G(5)(%rdx)
	movq %rsi, G(6)(%rdx)
	movq %rdi, G(7)(%rdx)
	movq %r8, G(8)(%rdx)
	movq %r9, G(9)(%rdx)
	movq %r10, G(10)(%rdx)
	movq %r11, G(11)(%rdx)
	movq %r12, G(12)(%rdx)
	movq %r13, G(13)(%rdx)
	movq %r14, G(14)(%rdx)
	movq %r15, G(15)(%rdx)
	popq %rax
	movq %rax, G(2)(%rdx)
	popq %rdx                       /* the gpr array, done with */
	SPEC_FILL_RSB %rcx
	popq %rax                       /* the host save area */
	vmload %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size svm_enter, . - svm_enter

/*
 * Every vector from 32 up: a host interrupt, taken only in svm_timer_disarm()'s
 * window. Counts it and signals EOI (xAPIC register, or the x2APIC EOI MSR when
 * svm_lapic_eoi_mmio is 0); an EOI with nothing in service is ignored, so the
 * spurious vector may share the stub.
 */
#define X2APIC_MSR_EOI 0x80b

	.globl svm_host_interrupt
	.type svm_host_interrupt, @function
svm_host_interrupt:
	pushq %rax
	pushq %rcx
	pushq %rdx
	incq svm_host_interrupts(%rip)
	movq svm_lapic_eoi_mmio(%rip), %rax
	testq %rax, %rax
	jz 1f
	movl $0, (%rax)
	jmp 2f
1:	movl $X2APIC_MSR_EOI, %ecx
	xorl %eax, %eax
	xorl %edx, %edx
	wrmsr
2:	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.size svm_host_interrupt, . - svm_host_interrupt
	.section .note.GNU-stack, "", @progbits
