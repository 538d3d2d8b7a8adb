/*
 * The Linux/x86 64-bit boot protocol (the kernel's Documentation/arch/x86/boot.rst and
 * zero-page.rst): loads a bzImage, its command line and an initramfs into guest RAM,
 * fills the zero page (struct boot_params: the kernel's setup header, an e820 map, the
 * ACPI RSDP address) and builds the state the protocol enters the kernel with: 64-bit
 * mode, paging on with an identity map of the low 4 GiB (which covers the kernel's
 * init_size, the zero page and the command line, as the protocol requires), a GDT with
 * __BOOT_CS (0x10) and __BOOT_DS (0x18), interrupts off, RSI = the zero page, RIP = the
 * protected-mode kernel's load address + 0x200.
 *
 * Never trusts the image: linux_parse_bzimage() checks every header field it uses (magic,
 * protocol >= 2.12, XLF_KERNEL_64, LOADED_HIGH, the header's own length, setup and
 * kernel sizes against the file, init_size, alignment, the preferred address) before
 * anything is written, and linux_load() checks every placement against guest RAM first;
 * a refusal is FERR_INVAL (the image), FERR_NOMEM (does not fit in this guest's RAM) or
 * FERR_TOOBIG (command line longer than the kernel takes), with a one-line reason in
 * *why, and leaves RAM untouched.
 *
 * Guest-physical layout (docs/linux-guest.md; platform constants in kernel/vdev/platform.h):
 *   0x1000  GDT: null, null, __BOOT_CS 0x10, __BOOT_DS 0x18, TSS 0x20 (16 bytes)
 *   0x2000  TSS
 *   0x3000  struct boot_params (the zero page)
 *   0x4000  PML4; 0x5000 PDPT; 0x6000-0x9FFF four page directories (2 MiB pages, 4 GiB)
 *   0xA000-0xDFFF  the boot stack (RSP at its top)
 *   0x20000 the command line
 *   [0xA0000, 0x100000) not RAM: the ACPI tables' region (e820 ACPI) in it
 *   pref_address (16 MiB for Debian's kernel) .. + init_size: the kernel
 *   the initramfs: page-aligned at the top of RAM (below initrd_addr_max)
 *
 * Portable (image and host): it only writes into the RAM buffer it is given.
 */
#ifndef FERRY_VM_LOADER_LINUX_H
#define FERRY_VM_LOADER_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/cpu_state.h"

#define LINUX_GDT_GPA         0x1000ull
#define LINUX_TSS_GPA         0x2000ull
#define LINUX_BOOT_PARAMS_GPA 0x3000ull
#define LINUX_PML4_GPA        0x4000ull
#define LINUX_STACK_TOP_GPA   0xe000ull
#define LINUX_CMDLINE_GPA     0x20000ull
#define LINUX_CMDLINE_MAX     4096u      /* bytes with the NUL, whatever the kernel allows */

#define LINUX_BOOT_CS 0x10   /* __BOOT_CS */
#define LINUX_BOOT_DS 0x18   /* __BOOT_DS */
#define LINUX_BOOT_TR 0x20

#define LINUX_MIN_PROTOCOL 0x020c     /* 2.12: xloadflags, so XLF_KERNEL_64 can be checked */
#define LINUX_MAX_RESERVED 16         /* reserved windows (MMIO) in the e820 map */
/*
 * RAM a kernel needs beyond its init_size window and the initramfs to reach /init: the
 * unpacked initramfs, its page tables, struct pages and slabs. Measured with Debian's
 * 6.1 cloud kernel and Ferry's initramfs under QEMU microvm: 70 MiB (1.5 MiB above the
 * kernel and initramfs) runs out of memory, 72 MiB (3.5 MiB above) reaches /init; this
 * is about twice that.
 */
#define LINUX_RUN_RESERVE_BYTES (8ull << 20)
#define LINUX_MIN_RAM_GRAIN     (1ull << 20)   /* the minimum is stated in whole MiB */

/* What linux_parse_bzimage() learned from a setup header. */
struct linux_bzimage {
	uint16_t protocol;        /* 0x020f for 2.15 */
	uint32_t header_end;      /* the setup header ends at this file offset */
	uint64_t setup_bytes;     /* (setup_sects + 1) * 512: the protected-mode code starts here */
	uint64_t kernel_bytes;    /* syssize * 16: the protected-mode code loaded */
	uint64_t load_gpa;        /* where it is loaded: pref_address, aligned when relocatable */
	uint64_t init_size;       /* bytes from load_gpa the kernel needs before it reads e820 */
	uint32_t cmdline_max;     /* cmdline_size: the longest command line, without its NUL */
	uint32_t initrd_addr_max; /* highest byte address the initramfs may occupy */
	uint16_t xloadflags;
	bool relocatable;
};

/* A range listed in the e820 map as reserved (an MMIO window). */
struct linux_e820_range {
	uint64_t base, bytes;
};

struct linux_boot_config {
	uint64_t ram_bytes;        /* guest RAM [0, ram_bytes), a multiple of 4 KiB */
	const char *cmdline;       /* may be NULL */
	const void *initrd;        /* may be NULL */
	size_t initrd_bytes;
	uint64_t acpi_gpa, acpi_bytes;   /* the ACPI tables' region, inside [0xA0000, 0x100000) */
	uint64_t rsdp_gpa;               /* inside that region; boot_params.acpi_rsdp_addr */
	const struct linux_e820_range *reserved;   /* above RAM, not overlapping; may be NULL */
	unsigned reserved_count;
};

/* How the kernel starts (x86_entry_cpu_state() makes its register file), and where
 * things went. */
struct linux_entry_state {
	struct x86_entry_state cpu;
	/* Where things went (for the operator and the tests). */
	uint64_t kernel_gpa, kernel_end;   /* kernel_end: load + init_size */
	uint64_t initrd_gpa, initrd_bytes;
	uint64_t boot_params_gpa, cmdline_gpa;
};

/* Validates a bzImage's setup header. Returns 0 and fills *out, or FERR_INVAL. */
int linux_parse_bzimage(const void *image, size_t image_len, struct linux_bzimage *out,
			const char **why);

/*
 * The least guest RAM that boots `image` with an initramfs of initrd_bytes: the load
 * address + init_size (the kernel's decompression window), the initramfs (page-aligned)
 * and LINUX_RUN_RESERVE_BYTES, rounded up to a whole MiB. The low boot structures (zero
 * page, command line, tables) sit below 1 MiB, inside the load address. Reads only the
 * setup header, so a caller can refuse a guest before allocating anything (`create`
 * does: kernel/vm/linux.c). linux_load() checks only what the boot protocol needs (the
 * init_size window, the initramfs placed), so it loads into less; the kernel would not
 * reach /init there. Returns 0 and *min_bytes, or FERR_INVAL (the image, with *why).
 */
int linux_min_ram_bytes(const void *image, size_t image_len, size_t initrd_bytes,
			uint64_t *min_bytes, const char **why);

/* Loads `image` into `ram` (cfg->ram_bytes long, ram[0] is GPA 0, zeroed by the caller)
 * per cfg, and fills *entry. The ACPI tables themselves are the caller's to write into
 * their region (kernel/vdev/acpi.c). */
int linux_load(const void *image, size_t image_len, const struct linux_boot_config *cfg,
	       uint8_t *ram, struct linux_entry_state *entry, const char **why);

#endif
