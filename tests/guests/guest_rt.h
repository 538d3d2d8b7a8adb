/*
 * Runtime shared by the test guests (docs/guest-abi.md): serial output with LSR
 * polling, a small printf, the Ferry hypercalls and key=value arguments from the
 * boot parameters. Each guest defines guest_main(); returning from it halts.
 */
#ifndef FERRY_GUEST_RT_H
#define FERRY_GUEST_RT_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/guest_abi.h"

#define GUEST_PAGE_BYTES 4096ull
#define NS_PER_MS 1000000ull
#define NS_PER_SEC 1000000000ull

extern const struct ferry_boot_params *boot_params;

void guest_main(void);

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	/* "d": always the DX form, so the host runner decodes one form only. */
	__asm__ volatile("inb %w1, %b0" : "=a"(v) : "d"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %b0, %w1" : : "a"(v), "d"(port));
}

/*
 * The hypercall instruction follows the CPU vendor (docs/guest-abi.md): VMMCALL
 * on AMD (and Hygon) CPUs, whose SVM intercepts it, VMCALL elsewhere (VT-x).
 * guest_rt_start() decides from CPUID leaf 0 before guest_main() runs.
 */
extern int hypercall_is_vmmcall;

static inline long hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	long ret;
	if (hypercall_is_vmmcall)
		__asm__ volatile("vmmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	else
		__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
	return ret;
}

/* "vmcall" or "vmmcall": the instruction hypercall() uses. */
const char *hypercall_instruction(void);

static inline uint64_t clock_ns(void) { return (uint64_t)hypercall(FERRY_HC_CLOCK_NS, 0, 0, 0); }
static inline void hc_yield(void) { hypercall(FERRY_HC_YIELD, 0, 0, 0); }
static inline long hc_print(const char *text, uint64_t len)
{
	return hypercall(FERRY_HC_PRINT, (uint64_t)(uintptr_t)text, len, 0);
}

void uart_putc(char c);
void uart_puts(const char *s);
/* %u %d %x %lu %ld %lx %s %c, with optional 0 flag and width. */
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Arguments: `key=value` words in boot_params->cmdline. */
int arg_get(const char *key, char *out, size_t out_size);   /* 1 if present */
uint64_t arg_u64(const char *key, uint64_t fallback);        /* decimal or 0x hex */
int arg_is(const char *key, const char *value, int fallback_if_absent);

__attribute__((noreturn)) void guest_halt(void);

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
size_t strlen(const char *s);

#endif
