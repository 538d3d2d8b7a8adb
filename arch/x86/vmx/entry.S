/*
 * VM entry and exit (SDM Vol. 3C 26, 27.5): vmx_enter(gpr, launched) saves the
 * callee-saved registers, points HOST_RSP/HOST_RIP at this frame and at
 * vmx_exit, loads the guest GPRs and runs VMLAUNCH or VMRESUME. A VM exit
 * lands at vmx_exit with the host's RSP, stores the guest GPRs and returns 0;
 * a failed entry returns 1 (the VM-instruction error field says why).
 * Speculation controls (arch/x86/spec_asm.h): VERW last before the entry when
 * the policy wants it, and the return stack buffer refilled before the first
 * RET after an exit.
 * gpr[] is in GPR_* order (arch/x86/x86.h): rax rcx rdx rbx rsp rbp rsi rdi r8..r15.
 */
#include "arch/x86/spec_asm.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/x86.h"

#define G(reg) (8 * GPR_##reg)   /* the offset of a register in gpr[] */

	.text
	.globl vmx_enter
	.type vmx_enter, @function
vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                      /* the gpr array, for the exit path */
	movq $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	leaq vmx_exit(%rip), %rdx
	movq $VMCS_HOST_RIP, %rax
	vmwrite %rdx, %rax
	pushq %rsi                      /* launched; below HOST_RSP, so an exit leaves it behind */
	movq G(RAX)(%rdi), %rax
	movq G(RCX)(%rdi), %rcx
	movq G(RDX)(%rdi), %rdx
	movq G(RBX)(%rdi), %rbx
	movq G(RBP)(%rdi), %rbp
	movq G(RSI)(%rdi), %rsi
	movq G(R8)(%rdi), %r8
	movq G(R9)(%rdi), %r9
	movq G(R10)(%rdi), %r10
	movq G(R11)(%rdi), %r11
	movq G(R12)(%rdi), %r12
	movq G(R13)(%rdi), %r13
	movq G(R14)(%rdi), %r14
	movq G(R15)(%rdi), %r15
	movq G(RDI)(%rdi), %rdi
	SPEC_CLEAR_CPU_BUFFERS
	cmpq $0, (%rsp)
	jne 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* Entry failed: nothing of the guest ran; the stack is as we left it. */
	addq $8, %rsp                   /* launched */
	popq %rdi
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	movl $1, %eax
	ret

	.globl vmx_exit
vmx_exit:
	pushq %rdi                      /* the guest's RDI */
	movq 8(%rsp), %rdi
	movq %rax, G(RAX)(%rdi)
	movq %rcx, G(RCX)(%rdi)
	movq %rdx, G(RDX)(%rdi)
	movq %rbx, G(RBX)(%rdi)
	movq %rbp, G(RBP)(%rdi)
	movq %rsi, G(RSI)(%rdi)
	movq %r8, G(R8)(%rdi)
	movq %r9, G(R9)(%rdi)
	movq %r10, G(R10)(%rdi)
	movq %r11, G(R11)(%rdi)
	movq %r12, G(R12)(%rdi)
	movq %r13, G(R13)(%rdi)
	movq %r14, G(R14)(%rdi)
	movq %r15, G(R15)(%rdi)
	popq %rax
	movq %rax, G(RDI)(%rdi)
	SPEC_FILL_RSB %rax
	popq %rdi
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	xorl %eax, %eax
	ret
	.size vmx_enter, . - vmx_enter
	.section .note.GNU-stack, "", @progbits
