/*
 * Exceptions for the test guests that provoke them (vmxinsn, hostile): an IDT
 * whose #UD, #GP and #PF gates lead to one C handler the guest gives, with the
 * interrupted registers in a struct trap_frame it may change (RIP above all),
 * and TRAP_TRY(), which runs instructions with trap_resume_rip pointing past
 * them so that a handler can resume there. Also what entering user mode takes
 * (a GDT with CPL3 segments and a TSS, user-accessible page tables, a DPL3 gate
 * back to the kernel), for the guests that check what CPL3 may not do.
 *
 * Part of the test guests' runtime (linked into every guest, used by some).
 */
#ifndef FERRY_GUEST_TRAP_H
#define FERRY_GUEST_TRAP_H

#include <stdint.h>

#define TRAP_VECTOR_UD 6
#define TRAP_VECTOR_GP 13
#define TRAP_VECTOR_PF 14

/* What the stubs save: 9 scratch registers, then vector, error code and the CPU's frame. */
struct trap_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_fn)(struct trap_frame *frame);

/* Loads an IDT with #UD, #GP and #PF going to handler (DPL 0 gates, the loader's code selector). */
void trap_install(trap_handler_fn handler);

/* Where a trap during TRAP_TRY resumes (0 outside one: a handler should then halt). */
extern uint64_t trap_resume_rip;

/*
 * Runs `insn` (asm text; the operand lists follow, ": outputs : inputs :
 * clobbers", and the clobbers must name "r11") with trap_resume_rip at its end: a
 * handler that sets frame->rip = trap_resume_rip skips what is left of it.
 */
#define TRAP_TRY(insn, ...)                                                             \
	__asm__ volatile("lea 1f(%%rip), %%r11\n\tmov %%r11, trap_resume_rip(%%rip)\n\t" \
			 insn "\n1:\n\tmovq $0, trap_resume_rip(%%rip)" __VA_ARGS__)

/*
 * User mode: a GDT of its own (kernel code and data, user data and code at DPL 3,
 * a TSS whose RSP0 is a stack of the runtime's), the U/S bit on every entry of
 * the page tables CR3 points at, and vector 0x80 as a DPL 3 gate back.
 * trap_install() first.
 */
void trap_user_setup(void);
/*
 * Runs `entry` at CPL 3 on `stack_top` with RDX = arg (IF clear, IOPL 0), until
 * it executes INT 0x80; returns its RAX then. A fault at CPL 3 goes to the
 * handler like any other (frame->cs & 3 says so).
 */
uint64_t trap_run_user(void (*entry)(void), uint64_t stack_top, uint64_t arg);

#endif
