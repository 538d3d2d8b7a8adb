/*
 * A 64 KiB "firmware" for QEMU (-bios) that enters a Linux kernel the way Ferry will:
 * from the reset vector it switches to 32-bit protected mode and then to long mode with
 * the page tables, GDT, segments and registers that Ferry's loader built
 * (kernel/vm/loader_linux.c), read from the parameter block that
 * tests/tools/linux_boot_image.c writes at STUB_PARAMS_GPA, and jumps to the kernel's
 * 64-bit entry. So QEMU's TCG runs Debian's kernel on exactly the memory image, zero page
 * and ACPI tables Ferry would give it (tests/test_linux_oracle.py). Test tool only.
 *
 * Linked at 0xFFFF0000 (the ROM's place below 4 GiB); the CPU starts at 0xFFFFFFF0 in
 * real mode with CS based at 0xFFFF0000 (Intel SDM Vol. 3A 9.1.4).
 */
#define STUB_PARAMS_GPA 0x500
#define P_CR0  0x00
#define P_CR3  0x08
#define P_CR4  0x10
#define P_EFER 0x18
#define P_RIP  0x20
#define P_RSP  0x28
#define P_RSI  0x30
#define P_GDTR 0x38   /* limit (2 bytes), base (8 bytes) */
#define P_CS   0x48
#define P_DS   0x4a

#define MSR_EFER   0xc0000080
#define EFER_LMA   (1 << 10)
#define CR0_PE     1
#define TMP_CODE32 0x08
#define TMP_DATA   0x10
#define TMP_CODE64 0x18

	.section .text
	.code16
	.globl _start
_start:
	cli
	lgdtl %cs:(tmp_gdtr - _start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $TMP_CODE32, $protected

	.code32
protected:
	movw $TMP_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $STUB_PARAMS_GPA, %esi
	movl P_CR4(%esi), %eax
	movl %eax, %cr4
	movl P_CR3(%esi), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	movl P_EFER(%esi), %eax
	andl $~EFER_LMA, %eax        /* LMA follows from paging; only LME is written */
	xorl %edx, %edx
	wrmsr
	movl P_CR0(%esi), %eax
	movl %eax, %cr0              /* paging on: long mode, compatibility mode for now */
	ljmpl $TMP_CODE64, $long_mode

	.code64
long_mode:
	movl $STUB_PARAMS_GPA, %esi
	movq P_RSP(%rsi), %rsp       /* the loader's stack, also for the far return below */
	lgdt P_GDTR(%rsi)            /* the loader's GDT, then its __BOOT_CS and __BOOT_DS */
	movzwq P_CS(%rsi), %rax
	pushq %rax
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	movw P_DS(%rsi), %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq P_RSP(%rsi), %rsp
	movq P_RIP(%rsi), %rax
	movq P_RSI(%rsi), %rsi
	jmp *%rax

	.balign 8
tmp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff     /* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff     /* 0x10: data, flat */
	.quad 0x00af9a000000ffff     /* 0x18: 64-bit code */
tmp_gdtr:
	.word tmp_gdtr - tmp_gdt - 1
	.long tmp_gdt

	.org 0xfff0
reset_vector:
	.code16
	jmp _start
	.org 0x10000
