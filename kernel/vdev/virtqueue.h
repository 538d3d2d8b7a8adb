/*
 * Split virtqueues (virtio 1.1 section 2.6) over guest RAM, the device's side: take the
 * descriptor chains the driver made available, give them back through the used ring.
 *
 * Guest RAM is given as (base pointer, size): guest-physical address `gpa` is
 * `base + gpa` for gpa < size, and nothing else is reachable. What this module
 * guarantees, whatever the guest writes into its rings:
 *   - every guest-physical range it touches (ring entries, descriptors, the buffers a
 *     chain names) is checked to lie inside RAM before it is read or written, with
 *     overflow-safe arithmetic;
 *   - a chain is walked once and copied into a struct virtq_chain: what the device uses
 *     afterwards is that copy, never a descriptor the guest could change meanwhile;
 *   - a chain has at most `size` descriptors (so a loop ends as an error), at most
 *     UINT32_MAX bytes, no indirect descriptor (VIRTIO_F_INDIRECT_DESC is not offered)
 *     and no device-readable descriptor after a device-writable one (2.6.4.2);
 *   - the available index may run at most `size` entries ahead of the device (QEMU's
 *     "Guest moved used index" check); a head index or `next` beyond the table is refused;
 *   - every byte range the device writes into guest RAM (a used element, the used index,
 *     received data) is reported to the RAM's dirty hook, so that live migration sees
 *     device writes, which neither EPT dirty bits nor PML record.
 * A broken rule gives FERR_INVAL with a static reason; the device then stops itself
 * (virtio_mmio_fail: DEVICE_NEEDS_RESET) and nothing outside the guest is harmed.
 *
 * Not offered, so not handled: indirect descriptors, the event index
 * (VIRTIO_F_EVENT_IDX: interrupt suppression is the avail ring's NO_INTERRUPT flag
 * only), packed rings. The device never leaves a chain half-done between calls: it pops
 * and pushes a chain in one go (virtq_unpop returns one it could not finish), so at rest
 * `last_avail == used_idx` and no descriptor is in flight.
 *
 * Virtio structures are little-endian, as is x86 on both sides. Portable (image and
 * host; tests/unit/test_virtqueue.c, tests/fuzz/fuzz_virtio_net.c).
 */
#ifndef FERRY_VDEV_VIRTQUEUE_H
#define FERRY_VDEV_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest queue Ferry's devices offer (QueueNumMax); a power of two. */
#define VIRTQ_MAX_SIZE 256u

/* Descriptor flags (2.6.5). */
#define VIRTQ_DESC_F_NEXT     0x1u
#define VIRTQ_DESC_F_WRITE    0x2u   /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT 0x4u

/* The available ring's flags (2.6.7): the driver asks for no used-buffer notification. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 0x1u

/* Sizes and alignments of the three areas for a queue of n entries (2.6, table
 * "Virtqueue Part Alignment"); the used_event / avail_event words are counted even
 * though the event index is not offered, as the layout has them. */
#define VIRTQ_DESC_BYTES       16u
#define VIRTQ_DESC_ALIGN       16u
#define VIRTQ_AVAIL_ALIGN      2u
#define VIRTQ_USED_ALIGN       4u
#define VIRTQ_RING_HEADER      4u    /* flags, idx */
#define VIRTQ_AVAIL_ENTRY      2u
#define VIRTQ_USED_ENTRY       8u    /* id (le32), len (le32) */
#define VIRTQ_EVENT_WORD       2u
#define VIRTQ_DESC_AREA(n)   ((uint64_t)(n) * VIRTQ_DESC_BYTES)
#define VIRTQ_AVAIL_AREA(n)  (VIRTQ_RING_HEADER + (uint64_t)(n) * VIRTQ_AVAIL_ENTRY + VIRTQ_EVENT_WORD)
#define VIRTQ_USED_AREA(n)   (VIRTQ_RING_HEADER + (uint64_t)(n) * VIRTQ_USED_ENTRY + VIRTQ_EVENT_WORD)

/* Guest RAM as a device sees it; `dirty` (may be NULL) is told of every device write. */
typedef void (*virtq_dirty_fn)(void *ctx, uint64_t gpa, uint64_t len);

struct virtq_ram {
	uint8_t *base;
	uint64_t size;
	virtq_dirty_fn dirty;
	void *dirty_ctx;
};

/* True when [gpa, gpa + len) lies inside RAM (len 0 included). */
bool virtq_ram_contains(const struct virtq_ram *ram, uint64_t gpa, uint64_t len);
/* Copies guest RAM out / in; FERR_RANGE (nothing copied) outside RAM. A write reports
 * the range to the dirty hook. */
int virtq_ram_read(const struct virtq_ram *ram, uint64_t gpa, void *buf, uint64_t len);
int virtq_ram_write(const struct virtq_ram *ram, uint64_t gpa, const void *buf, uint64_t len);

/* One queue: the transport's registers for it and the device's two indices. Plain data. */
struct virtq {
	uint64_t desc, avail, used;   /* guest-physical addresses of the three areas */
	uint16_t size;                /* entries (QueueNum); checked when made ready */
	uint16_t last_avail;          /* the next available-ring entry the device takes */
	uint16_t used_idx;            /* the used ring's idx as the device last wrote it */
	bool ready;
};

/* One descriptor of a popped chain, as read (and checked) once. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool device_writes;
};

struct virtq_chain {
	uint16_t head;          /* the id to push back */
	uint16_t count;         /* descriptors in seg[] */
	uint32_t readable;      /* bytes in device-readable descriptors */
	uint32_t writable;      /* bytes in device-writable descriptors */
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

/*
 * Checks a queue's size and areas before it is used: size a power of two in
 * [1, max_size], each area aligned and inside RAM. 0, or FERR_INVAL with *why.
 */
int virtq_check_layout(const struct virtq *q, uint16_t max_size, const struct virtq_ram *ram,
		       const char **why);

/*
 * Checks a ready queue restored from a saved state against the RAM it arrived with:
 * the layout, no descriptor in flight (last_avail == used_idx), and the driver's
 * available index at most `size` ahead of last_avail (QEMU's virtio_load check).
 */
int virtq_check_state(const struct virtq *q, uint16_t max_size, const struct virtq_ram *ram,
		      const char **why);

/* Chains available and not yet taken (0..size), or FERR_INVAL with *why. */
int virtq_avail_count(const struct virtq *q, const struct virtq_ram *ram, const char **why);

/*
 * Takes the next available chain into *c: 1 when one was taken, 0 when none is
 * available, FERR_INVAL (with *why, nothing taken) when the ring or the chain breaks
 * a rule above.
 */
int virtq_pop(struct virtq *q, const struct virtq_ram *ram, struct virtq_chain *c,
	      const char **why);
/* Gives back the chain the last virtq_pop took, unused: the next pop takes it again. */
void virtq_unpop(struct virtq *q);

/*
 * Returns chain `head` to the driver with `written` bytes written into it: the used
 * element, then the used index (2.6.8.2: the element is visible before the index).
 * FERR_INVAL with *why only when the used ring is no longer inside RAM.
 */
int virtq_push(struct virtq *q, const struct virtq_ram *ram, uint16_t head, uint32_t written,
	       const char **why);

/* Whether the driver asked not to be notified of used buffers (avail flags). */
bool virtq_interrupt_suppressed(const struct virtq *q, const struct virtq_ram *ram);

/*
 * Copies up to len bytes of the chain's device-readable part, from byte `offset` of
 * it, into buf; returns the bytes copied. The chain was checked when popped.
 */
size_t virtq_chain_read(const struct virtq_chain *c, const struct virtq_ram *ram,
			uint32_t offset, void *buf, size_t len);
/* Writes up to len bytes into the chain's device-writable part from byte `offset` of
 * it (each piece reported dirty); returns the bytes written. */
size_t virtq_chain_write(const struct virtq_chain *c, const struct virtq_ram *ram,
			 uint32_t offset, const void *buf, size_t len);

#endif
