/* Split virtqueues over guest RAM, the device's side (contract in virtqueue.h; virtio 1.1 2.6). */
#include "kernel/vdev/virtqueue.h"

#include <string.h>

#include "kernel/lib/errors.h"

/* Byte offsets inside a descriptor (2.6.5) and inside the rings (2.6.6, 2.6.8). */
#define DESC_ADDR  0u
#define DESC_LEN   8u
#define DESC_FLAGS 12u
#define DESC_NEXT  14u
#define RING_FLAGS 0u
#define RING_IDX   2u
#define USED_ELEM_ID  0u
#define USED_ELEM_LEN 4u

static int refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return FERR_INVAL;
}

bool virtq_ram_contains(const struct virtq_ram *ram, uint64_t gpa, uint64_t len)
{
	return gpa <= ram->size && len <= ram->size - gpa;
}

int virtq_ram_read(const struct virtq_ram *ram, uint64_t gpa, void *buf, uint64_t len)
{
	if (!virtq_ram_contains(ram, gpa, len))
		return FERR_RANGE;
	if (len)
		memcpy(buf, ram->base + gpa, len);
	return FERR_OK;
}

int virtq_ram_write(const struct virtq_ram *ram, uint64_t gpa, const void *buf, uint64_t len)
{
	if (!virtq_ram_contains(ram, gpa, len))
		return FERR_RANGE;
	if (!len)
		return FERR_OK;
	memcpy(ram->base + gpa, buf, len);
	if (ram->dirty)
		ram->dirty(ram->dirty_ctx, gpa, len);
	return FERR_OK;
}

static bool is_power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

int virtq_check_layout(const struct virtq *q, uint16_t max_size, const struct virtq_ram *ram,
		       const char **why)
{
	if (!is_power_of_two(q->size) || q->size > max_size)
		return refuse(why, "queue size is not a power of two up to QueueNumMax");
	if (q->desc % VIRTQ_DESC_ALIGN || q->avail % VIRTQ_AVAIL_ALIGN || q->used % VIRTQ_USED_ALIGN)
		return refuse(why, "a ring area is not aligned (descriptors 16, driver 2, device 4)");
	if (!virtq_ram_contains(ram, q->desc, VIRTQ_DESC_AREA(q->size)))
		return refuse(why, "the descriptor table is outside guest RAM");
	if (!virtq_ram_contains(ram, q->avail, VIRTQ_AVAIL_AREA(q->size)))
		return refuse(why, "the available ring is outside guest RAM");
	if (!virtq_ram_contains(ram, q->used, VIRTQ_USED_AREA(q->size)))
		return refuse(why, "the used ring is outside guest RAM");
	return FERR_OK;
}

/* A 16-bit field of a ring the layout check has placed inside RAM. */
static uint16_t ring_u16(const struct virtq_ram *ram, uint64_t gpa)
{
	uint16_t v = 0;
	virtq_ram_read(ram, gpa, &v, sizeof(v));
	return v;
}

int virtq_avail_count(const struct virtq *q, const struct virtq_ram *ram, const char **why)
{
	uint16_t ahead = (uint16_t)(ring_u16(ram, q->avail + RING_IDX) - q->last_avail);
	if (ahead > q->size)
		return refuse(why, "the available index ran more than the queue size ahead");
	return ahead;
}

int virtq_check_state(const struct virtq *q, uint16_t max_size, const struct virtq_ram *ram,
		      const char **why)
{
	int err = virtq_check_layout(q, max_size, ram, why);
	if (err)
		return err;
	if (q->last_avail != q->used_idx)
		return refuse(why, "a descriptor chain was in flight (last_avail != used_idx)");
	err = virtq_avail_count(q, ram, why);
	return err < 0 ? err : FERR_OK;
}

/* Reads descriptor i (i < size; the table is inside RAM). */
static void read_desc(const struct virtq *q, const struct virtq_ram *ram, uint16_t i,
		      uint64_t *addr, uint32_t *len, uint16_t *flags, uint16_t *next)
{
	uint8_t d[VIRTQ_DESC_BYTES];

	virtq_ram_read(ram, q->desc + (uint64_t)i * VIRTQ_DESC_BYTES, d, sizeof(d));
	memcpy(addr, d + DESC_ADDR, sizeof(*addr));
	memcpy(len, d + DESC_LEN, sizeof(*len));
	memcpy(flags, d + DESC_FLAGS, sizeof(*flags));
	memcpy(next, d + DESC_NEXT, sizeof(*next));
}

/* Walks and copies the chain starting at `head`; nothing is taken on failure. */
static int walk_chain(const struct virtq *q, const struct virtq_ram *ram, uint16_t head,
		      struct virtq_chain *c, const char **why)
{
	uint64_t total = 0;
	uint16_t i = head;

	c->head = head;
	c->count = 0;
	c->readable = 0;
	c->writable = 0;
	for (;;) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;

		if (c->count == q->size)
			return refuse(why, "a descriptor chain is longer than the queue (a loop?)");
		read_desc(q, ram, i, &addr, &len, &flags, &next);
		if (flags & VIRTQ_DESC_F_INDIRECT)
			return refuse(why, "an indirect descriptor (VIRTIO_F_INDIRECT_DESC is not offered)");
		if (!virtq_ram_contains(ram, addr, len))
			return refuse(why, "a descriptor's buffer is outside guest RAM");
		bool writes = flags & VIRTQ_DESC_F_WRITE;
		if (!writes && c->writable)
			return refuse(why, "a device-readable descriptor follows a device-writable one");
		total += len;
		if (total > UINT32_MAX)
			return refuse(why, "a descriptor chain is longer than 4 GiB");
		c->seg[c->count++] = (struct virtq_seg){ .gpa = addr, .len = len, .device_writes = writes };
		if (writes)
			c->writable += len;
		else
			c->readable += len;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return FERR_OK;
		if (next >= q->size)
			return refuse(why, "a descriptor's next index is beyond the table");
		i = next;
	}
}

int virtq_pop(struct virtq *q, const struct virtq_ram *ram, struct virtq_chain *c,
	      const char **why)
{
	int ahead = virtq_avail_count(q, ram, why);
	if (ahead <= 0)
		return ahead;
	uint64_t slot = q->avail + VIRTQ_RING_HEADER +
			(uint64_t)(q->last_avail & (q->size - 1)) * VIRTQ_AVAIL_ENTRY;
	uint16_t head = ring_u16(ram, slot);
	if (head >= q->size)
		return refuse(why, "an available ring entry names a descriptor beyond the table");
	int err = walk_chain(q, ram, head, c, why);
	if (err)
		return err;
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *q)
{
	q->last_avail--;
}

int virtq_push(struct virtq *q, const struct virtq_ram *ram, uint16_t head, uint32_t written,
	       const char **why)
{
	uint8_t elem[VIRTQ_USED_ENTRY];
	uint32_t id = head;
	uint64_t slot = q->used + VIRTQ_RING_HEADER +
			(uint64_t)(q->used_idx & (q->size - 1)) * VIRTQ_USED_ENTRY;

	memcpy(elem + USED_ELEM_ID, &id, sizeof(id));
	memcpy(elem + USED_ELEM_LEN, &written, sizeof(written));
	if (virtq_ram_write(ram, slot, elem, sizeof(elem)))
		return refuse(why, "the used ring is outside guest RAM");
	uint16_t idx = (uint16_t)(q->used_idx + 1);
	if (virtq_ram_write(ram, q->used + RING_IDX, &idx, sizeof(idx)))
		return refuse(why, "the used ring is outside guest RAM");
	q->used_idx = idx;
	return FERR_OK;
}

bool virtq_interrupt_suppressed(const struct virtq *q, const struct virtq_ram *ram)
{
	return ring_u16(ram, q->avail + RING_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/*
 * Visits the chain's segments of one direction as a byte stream and copies between
 * [offset, offset + len) of that stream and buf. Segments were checked when popped.
 */
static size_t chain_copy(const struct virtq_chain *c, const struct virtq_ram *ram, bool device_writes,
			 uint32_t offset, uint8_t *buf, size_t len)
{
	size_t done = 0;
	uint64_t skip = offset;

	for (unsigned s = 0; s < c->count && done < len; s++) {
		const struct virtq_seg *seg = &c->seg[s];
		if (seg->device_writes != device_writes)
			continue;
		if (skip >= seg->len) {
			skip -= seg->len;
			continue;
		}
		uint64_t n = seg->len - skip;
		if (n > len - done)
			n = len - done;
		int err = device_writes ? virtq_ram_write(ram, seg->gpa + skip, buf + done, n)
					: virtq_ram_read(ram, seg->gpa + skip, buf + done, n);
		if (err)
			break;
		done += n;
		skip = 0;
	}
	return done;
}

size_t virtq_chain_read(const struct virtq_chain *c, const struct virtq_ram *ram,
			uint32_t offset, void *buf, size_t len)
{
	return chain_copy(c, ram, false, offset, buf, len);
}

size_t virtq_chain_write(const struct virtq_chain *c, const struct virtq_ram *ram,
			 uint32_t offset, const void *buf, size_t len)
{
	return chain_copy(c, ram, true, offset, (uint8_t *)buf, len);
}
