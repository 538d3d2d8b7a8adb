/* Switching to a new stack (arch/x86/stack.S). */
#ifndef FERRY_ARCH_X86_STACK_H
#define FERRY_ARCH_X86_STACK_H

#include <stdint.h>

/* Calls fn(arg) with rsp = stack_top (16-byte aligned); fn must not return. */
__attribute__((noreturn)) void arch_call_on_stack(uint64_t stack_top, void (*fn)(void *), void *arg);

#endif
