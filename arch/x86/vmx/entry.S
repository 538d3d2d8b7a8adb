/*
 * VM entry and exit (SDM Vol. 3C 26, 27.5): vmx_enter(gpr, launched) saves the
 * callee-saved registers, points HOST_RSP/HOST_RIP at this frame and at
 * vmx_exit, loads the guest GPRs and runs VMLAUNCH or VMRESUME. A VM exit
 * lands at vmx_exit with the host's RSP, stores the guest GPRs and returns 0;
 * a failed entry returns 1 (the VM-instruction error field says why).
 * gpr[] follows enum vm_gpr: rax rcx rdx rbx rsp rbp rsi rdi r8..r15.
 */
#define VMCS_HOST_RSP 0x6c14
#define VMCS_HOST_RIP 0x6c16
#define G(n) (8 * (n))

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
	cmpl $0, %esi                   /* flags survive the MOVs below */
	movq G(0)(%rdi), %rax
	movq G(1)(%rdi), %rcx
	movq G(2)(%rdi), %rdx
	movq G(3)(%rdi), %rbx
	movq G(5)(%rdi), %rbp
	movq G(6)(%rdi), %rsi
	movq G(8)(%rdi), %r8
	movq G(9)(%rdi), %r9
	movq G(10)(%rdi), %r10
	movq G(11)(%rdi), %r11
	movq G(12)(%rdi), %r12
	movq G(13)(%rdi), %r13
	movq G(14)(%rdi), %r14
	movq G(15)(%rdi), %r15
	movq G(7)(%rdi), %rdi
	jne 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* Entry failed: nothing of the guest ran; the stack is as we left it. */
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
	movq %rax, G(0)(%rdi)
	movq %rcx, G(1)(%rdi)
	movq %rdx, G(2)(%rdi)
	movq %rbx, G(3)(%rdi)
	movq %rbp, G(5)(%rdi)
	movq %rsi, G(6)(%rdi)
	movq %r8, G(8)(%rdi)
	movq %r9, G(9)(%rdi)
	movq %r10, G(10)(%rdi)
	movq %r11, G(11)(%rdi)
	movq %r12, G(12)(%rdi)
	movq %r13, G(13)(%rdi)
	movq %r14, G(14)(%rdi)
	movq %r15, G(15)(%rdi)
	popq %rax
	movq %rax, G(7)(%rdi)
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
