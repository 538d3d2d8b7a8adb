/*
 * Guest loader: puts an ELF64 guest image into guest RAM and builds what a 64-bit
 * guest needs to start the way a Linux 64-bit boot-protocol guest does: an
 * identity map of its RAM, a flat GDT with a TSS, a stack and the boot parameters
 * (include/ferry/guest_abi.h), and the register state to enter it with.
 *
 * Portable (image and host): it only writes into the RAM buffer it is given and
 * never trusts the image. Every header field, offset and size is checked before use;
 * a bad image gives FERR_INVAL with a one-line reason in *why and leaves no state.
 *
 * Guest-physical layout (documented in docs/guest-abi.md):
 *   0x1000  struct ferry_boot_params (RSI points here)
 *   0x2000  GDT: null, code64 (GUEST_CS_SELECTOR), data (GUEST_DS_SELECTOR), TSS (GUEST_TR_SELECTOR, 16 bytes)
 *   0x3000  TSS
 *   0x4000  PML4; 0x5000 PDPT; 0x6000.. page directories (2 MiB pages, all of RAM)
 *   >= 1 MiB  the image's PT_LOAD segments, then a 64 KiB stack; free_start after it
 */
#ifndef FERRY_GUEST_LOADER_H
#define FERRY_GUEST_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"

#define GUEST_BOOT_PARAMS_GPA 0x1000ull
#define GUEST_GDT_GPA         0x2000ull
#define GUEST_TSS_GPA         0x3000ull
#define GUEST_PML4_GPA        0x4000ull
#define GUEST_IMAGE_MIN_GPA   0x100000ull
#define GUEST_STACK_BYTES     0x10000ull
#define GUEST_MIN_RAM_BYTES   (2ull << 20)

#define GUEST_CS_SELECTOR 0x08
#define GUEST_DS_SELECTOR 0x10
#define GUEST_TR_SELECTOR 0x18

/* How the guest starts (x86_entry_cpu_state() makes its register file), and where. */
struct guest_entry_state {
	struct x86_entry_state cpu;
	uint64_t free_start;   /* also in the boot parameters */
};

/*
 * Loads `image` (image_len bytes) into `ram` (ram_bytes long; ram[0] is GPA 0),
 * which the caller has zeroed. cmdline (may be NULL) goes into the boot
 * parameters, truncated to FERRY_CMDLINE_MAX-1; tsc_hz is the TSC rate the guest
 * sees. Returns 0 and fills *entry, or FERR_INVAL (bad image, *why says what) or
 * FERR_NOMEM (the image and its stack do not fit in ram_bytes).
 */
int guest_load_elf(const void *image, size_t image_len, uint8_t *ram, uint64_t ram_bytes,
		   const char *cmdline, uint64_t tsc_hz, struct guest_entry_state *entry,
		   const char **why);

#endif
