/* The part of the Multiboot (version 1) boot information the dirty guest reads. */
#ifndef DIRTY_GUEST_MULTIBOOT_H
#define DIRTY_GUEST_MULTIBOOT_H

#include <stdint.h>

/* EAX on entry from a Multiboot loader. */
#define MULTIBOOT_LOADER_MAGIC 0x2BADB002u

/* multiboot_info.flags: which of the fields below are valid. */
#define MULTIBOOT_INFO_MEMORY  (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower_kib;  /* conventional memory below 1 MiB */
	uint32_t mem_upper_kib;  /* contiguous memory from 1 MiB up */
	uint32_t boot_device;
	uint32_t cmdline;        /* physical address of a NUL-terminated string */
};

#endif
