/* The kernel's physical memory; see memory.h. */
#include "kernel/memory.h"
#include "kernel/lib/errors.h"
#include "kernel/log.h"

#include <string.h>

struct frame_owner mem_owner_ferry = { .name = "ferry" };

static struct frame_allocator allocator;
static struct frame_owner *owners[MEM_MAX_OWNERS];
/* Ferry's image, stacks, frame bitmap and the files read from the ESP: set aside
 * before the pool was built, so never allocated from it, but shown by `mem`. */
static struct frame_owner mem_owner_boot = { .name = "ferry-boot" };

static void add_regions(const struct boot_info *info, enum boot_region_type type)
{
	for (unsigned i = 0; i < info->region_count; i++) {
		const struct boot_region *r = &info->regions[i];
		if (r->type == type)
			frame_alloc_add_region(&allocator, r->phys, r->frames);
	}
}

int mem_owner_register(struct frame_owner *owner)
{
	for (unsigned i = 0; i < MEM_MAX_OWNERS; i++) {
		if (!owners[i]) {
			owners[i] = owner;
			return FERR_OK;
		}
	}
	return FERR_NOMEM;
}

int mem_owner_unregister(struct frame_owner *owner)
{
	if (owner->frames)
		return FERR_BUSY;
	for (unsigned i = 0; i < MEM_MAX_OWNERS; i++) {
		if (owners[i] == owner) {
			owners[i] = NULL;
			return FERR_OK;
		}
	}
	return FERR_NOENT;
}

void mem_for_each_owner(void (*fn)(const struct frame_owner *owner, void *ctx), void *ctx)
{
	for (unsigned i = 0; i < MEM_MAX_OWNERS; i++)
		if (owners[i])
			fn(owners[i], ctx);
}

void memory_init(const struct boot_info *info)
{
	uint64_t covered = info->frame_bitmap_bytes * 8;

	frame_alloc_init(&allocator, phys_to_ptr(info->frame_bitmap), covered);
	add_regions(info, REGION_USABLE);
	mem_owner_register(&mem_owner_ferry);
	for (unsigned i = 0; i < info->region_count; i++)
		if (info->regions[i].type == REGION_FERRY)
			mem_owner_boot.frames += info->regions[i].frames;
	mem_owner_boot.peak_frames = mem_owner_boot.frames;
	mem_owner_register(&mem_owner_boot);
	klog_info("memory: %llu KiB free before the firmware's memory is reclaimed",
		  (unsigned long long)(allocator.free_frames * FRAME_SIZE / 1024));
}

void memory_reclaim_boot_services(const struct boot_info *info)
{
	uint64_t before = allocator.free_frames;

	add_regions(info, REGION_USABLE_LATER);
	klog_info("memory: reclaimed %llu KiB of boot-services memory; %llu KiB free",
		  (unsigned long long)((allocator.free_frames - before) * FRAME_SIZE / 1024),
		  (unsigned long long)(allocator.free_frames * FRAME_SIZE / 1024));
}

int mem_alloc(struct frame_owner *owner, uint64_t frames, uint64_t align_frames, uint64_t *phys)
{
	int err = frame_alloc(&allocator, owner, frames, align_frames, phys);

	if (err == 0)
		memset(phys_to_ptr(*phys), 0, frames * FRAME_SIZE);
	return err;
}

int mem_free(struct frame_owner *owner, uint64_t phys, uint64_t frames)
{
	return frame_free(&allocator, owner, phys, frames);
}

void mem_get_stats(struct mem_stats *out)
{
	out->total_frames = allocator.total_frames + mem_owner_boot.frames;
	out->free_frames = allocator.free_frames;
	out->ferry_frames = mem_owner_ferry.frames + mem_owner_boot.frames;
}
