/* Multiboot (v1) header, entry and timer interrupt stub of the dirty guest. The loader
 * leaves us in 32-bit protected mode with flat segments, paging and interrupts off,
 * EAX = the loader magic and EBX = the boot information, but GDTR may point anywhere
 * (Multiboot spec, "Machine state"): load our own flat GDT before taking interrupts. */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_HEADER_FLAGS 0 /* an ELF image: the loader takes the layout from it */
#define STACK_BYTES            16384
#define CODE_SELECTOR          0x08
#define DATA_SELECTOR          0x10
#define PIC1_COMMAND           0x20
#define PIC_END_OF_INTERRUPT   0x20

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.text
	.globl _start
_start:
	movl $stack_top, %esp
	lgdt gdt_descriptor
	ljmp $CODE_SELECTOR, $1f
1:	movw $DATA_SELECTOR, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %ss
	movw %cx, %fs
	movw %cx, %gs
	pushl %ebx
	pushl %eax
	call dirty_guest_main
2:	cli
	hlt
	jmp 2b

/* IRQ0 (the PIT): count the tick, acknowledge it at the master PIC. */
	.globl timer_interrupt
timer_interrupt:
	pushl %eax
	incl timer_ticks
	movb $PIC_END_OF_INTERRUPT, %al
	outb %al, $PIC1_COMMAND
	popl %eax
	iret

	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF /* CODE_SELECTOR: base 0, limit 4 GiB, 32-bit, execute/read */
	.quad 0x00CF92000000FFFF /* DATA_SELECTOR: base 0, limit 4 GiB, read/write */
gdt_end:
gdt_descriptor:
	.word gdt_end - gdt - 1
	.long gdt

	.bss
	.balign 16
	.skip STACK_BYTES
stack_top:

	.section .note.GNU-stack, "", @progbits
