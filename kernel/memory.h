/*
 * The kernel's physical memory: one frame allocator over the firmware's memory
 * map, with owners for accounting. Physical memory is identity-mapped by Ferry's
 * page tables (arch/x86/paging.c), so a frame's address is also its pointer.
 *
 * Start-up runs in two steps: memory_init() offers only conventional memory, which
 * the firmware no longer uses; once Ferry runs on its own GDT, IDT and page tables,
 * memory_reclaim_boot_services() adds the firmware's boot-services memory too.
 */
#ifndef FERRY_MEMORY_H
#define FERRY_MEMORY_H

#include <stdint.h>
#include "kernel/boot_info.h"
#include "kernel/frame_alloc.h"

extern struct frame_owner mem_owner_ferry;

#define MEM_MAX_OWNERS 32

/*
 * Makes an owner visible to `mem` (Ferry, the NIC, each guest...). An owner that
 * holds frames must stay registered; mem_owner_unregister() refuses (FERR_BUSY)
 * while it still holds any, so a leak cannot hide.
 */
int mem_owner_register(struct frame_owner *owner);
int mem_owner_unregister(struct frame_owner *owner);

/* Calls fn for every registered owner. */
void mem_for_each_owner(void (*fn)(const struct frame_owner *owner, void *ctx), void *ctx);

void memory_init(const struct boot_info *info);
void memory_reclaim_boot_services(const struct boot_info *info);

/* Allocates zeroed frames; see frame_alloc() for arguments and errors. */
int mem_alloc(struct frame_owner *owner, uint64_t frames, uint64_t align_frames, uint64_t *phys);
int mem_free(struct frame_owner *owner, uint64_t phys, uint64_t frames);

struct mem_stats {
	uint64_t total_frames;
	uint64_t free_frames;
	uint64_t ferry_frames;   /* held by Ferry itself: its image, stacks, tables, buffers */
};
void mem_get_stats(struct mem_stats *out);

static inline void *phys_to_ptr(uint64_t phys)
{
	return (void *)(uintptr_t)phys;
}

static inline uint64_t ptr_to_phys(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

#endif
