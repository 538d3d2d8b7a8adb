/* Multiboot (v1) header and entry of the dirty guest. The loader leaves us in 32-bit
 * protected mode with flat segments, paging and interrupts off, EAX = the loader magic
 * and EBX = the boot information; we only need a stack. */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_HEADER_FLAGS 0 /* an ELF image: the loader takes the layout from it */
#define STACK_BYTES            16384

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.text
	.globl _start
_start:
	movl $stack_top, %esp
	pushl %ebx
	pushl %eax
	call dirty_guest_main
1:	cli
	hlt
	jmp 1b

	.bss
	.balign 16
	.skip STACK_BYTES
stack_top:

	.section .note.GNU-stack, "", @progbits
