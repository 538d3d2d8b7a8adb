/*
 * Exception entry stubs (SDM Vol. 3A 6.12): each pushes a zero where the CPU
 * pushes no error code, then the vector, then all general registers, and calls
 * trap_handler with the struct trap_frame so built (arch/x86/trap.h).
 */
	.text

.macro ISR_NOERR vector
	.globl isr_\vector
isr_\vector:
	pushq	$0
	pushq	$\vector
	jmp	isr_common
.endm

.macro ISR_ERR vector
	.globl isr_\vector
isr_\vector:
	pushq	$\vector
	jmp	isr_common
.endm

ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	movq	%rsp, %rbx		/* callee-saved: the frame, for after the call */
	andq	$-16, %rsp
	callq	trap_handler
	movq	%rbx, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

/* The table of stub addresses, for idt_init(). Stored as offsets from itself to stay position-independent. */
	.section .rodata
	.globl isr_stub_offsets
	.balign 8
isr_stub_offsets:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad isr_\v - isr_stub_offsets
	.endr

/* arch_save_registers(struct trap_frame *frame in rdi) */
	.text
	.globl arch_save_registers
arch_save_registers:
	movq	%r15, 0(%rdi)
	movq	%r14, 8(%rdi)
	movq	%r13, 16(%rdi)
	movq	%r12, 24(%rdi)
	movq	%r11, 32(%rdi)
	movq	%r10, 40(%rdi)
	movq	%r9, 48(%rdi)
	movq	%r8, 56(%rdi)
	movq	%rbp, 64(%rdi)
	movq	%rdi, 72(%rdi)
	movq	%rsi, 80(%rdi)
	movq	%rdx, 88(%rdi)
	movq	%rcx, 96(%rdi)
	movq	%rbx, 104(%rdi)
	movq	%rax, 112(%rdi)
	movq	$0, 120(%rdi)
	movq	$0, 128(%rdi)
	movq	(%rsp), %rax
	movq	%rax, 136(%rdi)		/* rip: where the caller resumes */
	movq	%cs, %rax
	movq	%rax, 144(%rdi)
	pushfq
	popq	%rax
	movq	%rax, 152(%rdi)
	leaq	8(%rsp), %rax
	movq	%rax, 160(%rdi)		/* rsp as the caller sees it */
	movq	%ss, %rax
	movq	%rax, 168(%rdi)
	movq	112(%rdi), %rax
	ret

	.section .note.GNU-stack,"",@progbits
