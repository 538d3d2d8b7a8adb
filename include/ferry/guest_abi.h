/*
 * The interface between Ferry and the guests it starts (documented for people in
 * docs/guest-abi.md). Shared by Ferry (kernel/, arch/x86/) and the test guests
 * (tests/guests/); plain C with fixed-width types only.
 *
 * Entry: the guest starts in 64-bit long mode at its ELF entry point, with paging
 * on (an identity map of its RAM built by Ferry), a flat GDT, interrupts off and
 * RSP at the top of a stack Ferry reserved. RSI holds the guest-physical address
 * of a struct ferry_boot_params, as a Linux 64-bit boot-protocol guest finds its
 * boot_params ("zero page") in RSI.
 *
 * Devices: a 16550 UART at I/O port 0x3F8 (output shows on Ferry's console as
 * `[NAME] line`). Hypercalls: VMCALL with the function number in RAX and arguments
 * in RDI, RSI, RDX; the result comes back in RAX (negative: an error, see
 * errors.h in Ferry). Other registers are preserved.
 */
#ifndef FERRY_GUEST_ABI_H
#define FERRY_GUEST_ABI_H

#include <stdint.h>

#define FERRY_BOOT_PARAMS_MAGIC 0x59525245464f4f42ull   /* "BOOFERRY" little-endian */
#define FERRY_CMDLINE_MAX 256

struct ferry_boot_params {
	uint64_t magic;            /* FERRY_BOOT_PARAMS_MAGIC */
	uint64_t ram_bytes;        /* guest RAM size; RAM spans GPA [0, ram_bytes) */
	uint64_t free_start;       /* first GPA the guest may use freely (past its image, tables, stack) */
	uint64_t tsc_hz;           /* TSC frequency the guest sees */
	char cmdline[FERRY_CMDLINE_MAX];  /* `create ... args="..."`, NUL-terminated */
};

enum ferry_hypercall {
	FERRY_HC_CLOCK_NS = 0,   /* -> nanoseconds of a monotonic clock that survives migration */
	FERRY_HC_PRINT = 1,      /* RDI = GPA of text, RSI = length (at most 4096) -> 0 or error */
	FERRY_HC_YIELD = 2,      /* give the CPU to the next guest -> 0 */
};

#define FERRY_UART_PORT 0x3f8

#endif
