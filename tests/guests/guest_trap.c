/* Exceptions and user mode for the test guests (contract in guest_trap.h). SDM Vol. 3A ch. 3, 6, 7. */
#include "guest_rt.h"
#include "guest_trap.h"

#define IDT_ENTRIES        256
#define GATE_INTERRUPT     0x8e   /* P, DPL 0, 64-bit interrupt gate (type 0xE) */
#define GATE_INTERRUPT_DPL3 0xee  /* the same, callable from CPL 3 with INT n */
#define VECTOR_USER_RETURN 0x80

/* The GDT trap_user_setup() loads: selectors, and descriptors (base 0, flat). */
#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_DATA   0x18
#define SEL_USER_CODE   0x20
#define SEL_TSS         0x28
#define RPL3            3
#define DESC_KERNEL_CODE64 0x00af9a000000ffffull   /* P, DPL 0, code, L */
#define DESC_KERNEL_DATA   0x00cf92000000ffffull   /* P, DPL 0, data, writable */
#define DESC_USER_DATA     0x00cff2000000ffffull   /* P, DPL 3, data, writable */
#define DESC_USER_CODE64   0x00affa000000ffffull   /* P, DPL 3, code, L */
#define TSS_TYPE_AVAILABLE 0x89                    /* P, 64-bit TSS (available) */
#define TSS_BYTES          104
#define RFLAGS_FIXED       0x2                     /* bit 1 reads as 1; IF and IOPL clear */

#define PTE_PRESENT   0x1ull
#define PTE_USER      0x4ull
#define PTE_LARGE     0x80ull
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define TABLE_ENTRIES 512

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low, selector;
	uint8_t ist, type_attr;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
};

struct __attribute__((packed)) table_pointer {
	uint16_t limit;
	uint64_t base;
};

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
};

static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));
static trap_handler_fn registered;
uint64_t trap_resume_rip;

void trap_dispatch(struct trap_frame *frame);
void trap_dispatch(struct trap_frame *frame)
{
	registered(frame);
}

/* Every stub leaves the same layout: a zero where the CPU pushes no error code. */
__asm__(".text\n"
	"trap_stub_ud:\n"
	"	push $0\n"
	"	push $6\n"
	"	jmp trap_common\n"
	"trap_stub_gp:\n"
	"	push $13\n"
	"	jmp trap_common\n"
	"trap_stub_pf:\n"
	"	push $14\n"
	"	jmp trap_common\n"
	"trap_common:\n"
	"	push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n"
	"	push %r8; push %r9; push %r10; push %r11\n"
	"	mov %rsp, %rdi\n"
	"	cld\n"
	"	call trap_dispatch\n"
	"	pop %r11; pop %r10; pop %r9; pop %r8\n"
	"	pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
	"	add $16, %rsp\n"
	"	iretq\n");

extern char trap_stub_ud[], trap_stub_gp[], trap_stub_pf[], trap_user_return[];

static void set_gate(unsigned vector, void *handler, uint8_t type_attr)
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[vector] = (struct idt_gate){
		.offset_low = (uint16_t)a, .selector = SEL_KERNEL_CODE, .type_attr = type_attr,
		.offset_mid = (uint16_t)(a >> 16), .offset_high = (uint32_t)(a >> 32),
	};
}

void trap_install(trap_handler_fn handler)
{
	struct table_pointer idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	registered = handler;
	set_gate(TRAP_VECTOR_UD, trap_stub_ud, GATE_INTERRUPT);
	set_gate(TRAP_VECTOR_GP, trap_stub_gp, GATE_INTERRUPT);
	set_gate(TRAP_VECTOR_PF, trap_stub_pf, GATE_INTERRUPT);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* ---- user mode --------------------------------------------------------------------------- */

static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
uint64_t trap_saved_kernel_rsp;

static void set_user_bit(uint64_t *table, int level)
{
	for (unsigned i = 0; i < TABLE_ENTRIES; i++) {
		uint64_t e = table[i];
		if (!(e & PTE_PRESENT))
			continue;
		table[i] = e | PTE_USER;
		if (level > 1 && !(e & PTE_LARGE))
			set_user_bit((uint64_t *)(uintptr_t)(e & PTE_ADDR_MASK), level - 1);
	}
}

void trap_user_setup(void)
{
	uint64_t tss_base = (uint64_t)(uintptr_t)&tss, cr3;
	struct table_pointer gdtr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };

	tss.rsp[0] = (uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack));
	tss.iomap_base = TSS_BYTES;   /* no I/O bitmap: with IOPL 0, CPL 3 may touch no port */
	gdt[SEL_KERNEL_CODE / 8] = DESC_KERNEL_CODE64;
	gdt[SEL_KERNEL_DATA / 8] = DESC_KERNEL_DATA;
	gdt[SEL_USER_DATA / 8] = DESC_USER_DATA;
	gdt[SEL_USER_CODE / 8] = DESC_USER_CODE64;
	gdt[SEL_TSS / 8] = (TSS_BYTES - 1) | (tss_base & 0xffffff) << 16 |
			   (uint64_t)TSS_TYPE_AVAILABLE << 40 | (tss_base >> 24 & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = tss_base >> 32;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\tmov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\tmov %%eax, %%es\n\tmov %%eax, %%ss\n\t"
			 "mov %3, %%eax\n\t"
			 "ltr %%ax"
			 : : "m"(gdtr), "i"(SEL_KERNEL_CODE), "i"(SEL_KERNEL_DATA), "i"(SEL_TSS)
			 : "rax", "memory");
	set_gate(VECTOR_USER_RETURN, trap_user_return, GATE_INTERRUPT_DPL3);
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	set_user_bit((uint64_t *)(uintptr_t)(cr3 & PTE_ADDR_MASK), 4);
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/*
 * trap_run_user(entry %rdi, stack_top %rsi, arg %rdx): saves the callee-saved
 * registers and RSP, IRETQs to CPL 3; INT 0x80 lands in trap_user_return on
 * TSS.RSP0, which takes the saved RSP back and returns with the user's RAX.
 */
__asm__(".text\n"
	".globl trap_run_user\n"
	"trap_run_user:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsp, trap_saved_kernel_rsp(%rip)\n"
	"	pushq $0x1b\n"          /* SS: SEL_USER_DATA | RPL3 */
	"	pushq %rsi\n"
	"	pushq $0x2\n"           /* RFLAGS_FIXED */
	"	pushq $0x23\n"          /* CS: SEL_USER_CODE | RPL3 */
	"	pushq %rdi\n"
	"	iretq\n"
	".globl trap_user_return\n"
	"trap_user_return:\n"
	"	mov trap_saved_kernel_rsp(%rip), %rsp\n"
	"	mov $0x10, %ecx\n"      /* SEL_KERNEL_DATA: SS was loaded null by the gate */
	"	mov %ecx, %ss\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n");

_Static_assert((SEL_USER_DATA | RPL3) == 0x1b && (SEL_USER_CODE | RPL3) == 0x23 &&
	       SEL_KERNEL_DATA == 0x10 && RFLAGS_FIXED == 0x2, "trap_run_user's immediates");
