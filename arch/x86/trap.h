/*
 * CPU exceptions taken by Ferry itself, and the register dump shared with
 * panic(). Any exception in Ferry's own code is a bug: it prints the vector,
 * the error code, every register, the control registers and a frame-pointer
 * backtrace on the console, then stops the machine. (Guest exceptions never
 * arrive here: they cause VM exits.) The exception is the NMI, which is the
 * host's (a BMC's NMI button, a watchdog): counted (trap_host_nmis) and survived,
 * whether it arrives while Ferry runs or, handed over by the backend, while a
 * guest did.
 */
#ifndef FERRY_ARCH_X86_TRAP_H
#define FERRY_ARCH_X86_TRAP_H

#include "kernel/panic.h"

#include <stdint.h>

/* Layout pushed by isr.S and filled by arch_save_registers(); keep them in step. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Where the image and stacks lie, for symbolising addresses and bounding backtraces. */
void trap_init(uint64_t image_base, uint64_t image_size, uint64_t stack_base, uint64_t stack_size,
	       uint64_t ist_base, uint64_t ist_size);

/* Fills frame with the caller's registers (rip: the return address). */
void arch_save_registers(struct trap_frame *frame);

/* Prints every register, CR0/2/3/4 and a backtrace from frame->rbp. */
void trap_dump(const struct trap_frame *frame);

/* panic()'s x86 half (kernel/panic.h): cli, the register dump from panic() itself, hlt. */
extern const struct panic_arch trap_panic_arch;

/* Host NMIs taken since boot (`info`). */
uint64_t trap_host_nmis(void);

/* Called by isr.S. */
void trap_handler(struct trap_frame *frame);

#endif
