/* arch_call_on_stack(stack_top, fn, arg): see stack.h. System V ABI: rdi, rsi, rdx. */
	.text
	.globl arch_call_on_stack
	.type arch_call_on_stack, @function
arch_call_on_stack:
	andq	$-16, %rdi
	movq	%rdi, %rsp
	xorl	%ebp, %ebp		/* ends frame-pointer backtraces here */
	movq	%rdx, %rdi
	pushq	$0			/* a null return address, then keep 16-byte alignment at the call */
	pushq	$0
	callq	*%rsi
1:	cli
	hlt
	jmp	1b
	.size arch_call_on_stack, .-arch_call_on_stack
	.section .note.GNU-stack,"",@progbits
