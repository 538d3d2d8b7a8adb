/* The virtio-mmio version 2 transport (contract in virtio_mmio.h; virtio 1.1 4.2). */
#include "kernel/vdev/virtio_mmio.h"

#include <string.h>

#include "kernel/lib/errors.h"

#define REGISTER_BYTES 4u
#define LOW_HALF  0xffffffffull
#define HALF_BITS 32u
#define FEATURE_WORDS 2u     /* 64 feature bits in two 32-bit selections */

static int refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return FERR_INVAL;
}

static void set_line(struct virtio_mmio *t, bool high)
{
	if (high == t->line_high)
		return;
	t->line_high = high;
	if (high)
		t->counters.interrupts++;
	if (t->line)
		t->line(t->line_ctx, high);
}

/* Every register back to its power-on value; the configuration generation only grows. */
static void reset_registers(struct virtio_mmio *t)
{
	uint32_t generation = t->s.config_generation;

	memset(&t->s, 0, sizeof(t->s));
	t->s.config_generation = generation;
	for (unsigned q = 0; q < t->dev.queue_count; q++)
		t->s.queues[q].size = t->dev.queue_max[q];
	set_line(t, false);
}

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_device *dev,
		      const struct virtq_ram *ram, virtio_mmio_line_fn line, void *line_ctx)
{
	memset(t, 0, sizeof(*t));
	t->dev = *dev;
	if (t->dev.queue_count > VIRTIO_MMIO_MAX_QUEUES)
		t->dev.queue_count = VIRTIO_MMIO_MAX_QUEUES;
	if (t->dev.config_len > VIRTIO_MMIO_CONFIG_MAX)
		t->dev.config_len = VIRTIO_MMIO_CONFIG_MAX;
	t->ram = ram;
	t->line = line;
	t->line_ctx = line_ctx;
	reset_registers(t);
}

bool virtio_mmio_running(const struct virtio_mmio *t)
{
	return (t->s.status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET |
			       VIRTIO_STATUS_FAILED)) == VIRTIO_STATUS_DRIVER_OK;
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return bit < 64 && (t->s.status & VIRTIO_STATUS_FEATURES_OK) &&
	       (t->s.driver_features & VIRTIO_FEATURE(bit));
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned q)
{
	return q < t->dev.queue_count && t->s.queues[q].ready ? &t->s.queues[q] : NULL;
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	t->s.interrupt_status |= bits & VIRTIO_MMIO_INT_ALL;
	set_line(t, t->s.interrupt_status != 0);
}

void virtio_mmio_config_changed(struct virtio_mmio *t, bool notify)
{
	t->s.config_generation++;
	if (notify && (t->s.status & VIRTIO_STATUS_DRIVER_OK))
		virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_fail(struct virtio_mmio *t, const char *why)
{
	t->failure = why;
	if (t->s.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	t->counters.needs_reset++;
	t->s.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set the device must tell the driver by a config change. */
	if (t->s.status & VIRTIO_STATUS_DRIVER_OK)
		virtio_mmio_interrupt(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_repulse(struct virtio_mmio *t)
{
	set_line(t, false);
	set_line(t, t->s.interrupt_status != 0);
}

/* ---- features ------------------------------------------------------------------------- */

/* Whether the driver's features can be accepted (3.1.1 step 5). */
static bool features_acceptable(const struct virtio_mmio *t, uint64_t f)
{
	if (f & ~t->dev.features)
		return false;
	if (!(f & VIRTIO_FEATURE(VIRTIO_F_VERSION_1)))
		return false;
	for (unsigned i = 0; i < t->dev.dep_count; i++) {
		const struct virtio_feature_dep *d = &t->dev.deps[i];
		if ((f & d->feature) && (f & d->requires) != d->requires)
			return false;
	}
	return true;
}

static uint32_t feature_word(uint64_t features, uint32_t sel)
{
	return sel < FEATURE_WORDS ? (uint32_t)(features >> (sel * HALF_BITS)) : 0;
}

/* ---- status --------------------------------------------------------------------------- */

static void write_status(struct virtio_mmio *t, uint32_t value, struct virtio_mmio_event *ev)
{
	uint32_t old = t->s.status;
	uint32_t want = value & VIRTIO_STATUS_DRIVER_BITS;

	if (value == 0) {   /* 4.2.2: writing zero resets the device */
		reset_registers(t);
		t->failure = NULL;
		t->counters.resets++;
		ev->kind = VIRTIO_MMIO_EV_RESET;
		return;
	}
	if (old & VIRTIO_STATUS_DRIVER_BITS & ~want) {
		virtio_mmio_fail(t, "the driver cleared a device status bit without a reset");
		ev->kind = VIRTIO_MMIO_EV_FAILED;
		return;
	}
	uint32_t added = want & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		if (!(want & VIRTIO_STATUS_DRIVER) || !features_acceptable(t, t->s.driver_features))
			want &= ~VIRTIO_STATUS_FEATURES_OK;   /* refused: reads back clear */
	}
	if ((added & VIRTIO_STATUS_DRIVER_OK) && !(want & VIRTIO_STATUS_FEATURES_OK)) {
		t->s.status = old | (want & ~VIRTIO_STATUS_DRIVER_OK);
		virtio_mmio_fail(t, "the driver set DRIVER_OK without FEATURES_OK");
		ev->kind = VIRTIO_MMIO_EV_FAILED;
		return;
	}
	t->s.status = (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET) | want;
	if ((added & VIRTIO_STATUS_DRIVER_OK) && virtio_mmio_running(t))
		ev->kind = VIRTIO_MMIO_EV_DRIVER_OK;
}

/* ---- queues ---------------------------------------------------------------------------- */

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return t->s.queue_sel < t->dev.queue_count ? &t->s.queues[t->s.queue_sel] : NULL;
}

static void set_half(uint64_t *reg, uint32_t value, bool high)
{
	if (high)
		*reg = (*reg & LOW_HALF) | (uint64_t)value << HALF_BITS;
	else
		*reg = (*reg & ~LOW_HALF) | value;
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t value,
			      struct virtio_mmio_event *ev)
{
	const char *why;

	if (!value) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	if (virtq_check_layout(q, t->dev.queue_max[t->s.queue_sel], t->ram, &why)) {
		virtio_mmio_fail(t, why);
		ev->kind = VIRTIO_MMIO_EV_FAILED;
		return;
	}
	/* A new ring starts at index 0 on both sides (2.6.13: the driver zeroes it). */
	q->last_avail = 0;
	q->used_idx = 0;
	q->ready = true;
}

/* QueueNum and the ring addresses: refused while the queue is ready (4.2.2.2). */
static void write_queue_field(struct virtio_mmio *t, uint32_t offset, uint32_t value,
			      struct virtio_mmio_event *ev)
{
	struct virtq *q = selected_queue(t);

	if (!q) {
		t->counters.ignored_writes++;
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, q, value, ev);
		return;
	}
	if (q->ready) {
		virtio_mmio_fail(t, "the driver changed a queue register while the queue was ready");
		ev->kind = VIRTIO_MMIO_EV_FAILED;
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_QUEUE_NUM:
		/* Checked when the queue is made ready; a 16-bit field, so larger is invalid. */
		q->size = value > UINT16_MAX ? 0 : (uint16_t)value;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:    set_half(&q->desc, value, false); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:   set_half(&q->desc, value, true); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:  set_half(&q->avail, value, false); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_half(&q->avail, value, true); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:  set_half(&q->used, value, false); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_half(&q->used, value, true); break;
	}
}

/* ---- register access ------------------------------------------------------------------- */

static bool access_fits(uint32_t offset, unsigned size)
{
	bool size_ok = size == 1 || size == 2 || size == 4 || size == 8;
	return size_ok && offset < VIRTIO_MMIO_WINDOW && size <= VIRTIO_MMIO_WINDOW - offset;
}

static uint64_t read_config(const struct virtio_mmio *t, uint32_t offset, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++) {
		uint32_t at = offset - VIRTIO_MMIO_CONFIG + i;
		if (at < t->dev.config_len)
			v |= (uint64_t)t->config[at] << (8 * i);
	}
	return v;
}

static uint32_t read_register(struct virtio_mmio *t, uint32_t offset)
{
	struct virtq *q = selected_queue(t);

	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:      return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:          return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID:        return t->dev.device_id;
	case VIRTIO_MMIO_VENDOR_ID:        return VIRTIO_MMIO_FERRY_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:  return feature_word(t->dev.features, t->s.device_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:    return q ? t->dev.queue_max[t->s.queue_sel] : 0;
	case VIRTIO_MMIO_QUEUE_READY:      return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->s.interrupt_status;
	case VIRTIO_MMIO_STATUS:           return t->s.status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:    return VIRTIO_MMIO_NO_SHM;
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->s.config_generation;
	default:                           return 0;   /* write-only or reserved */
	}
}

int virtio_mmio_read(struct virtio_mmio *t, uint32_t offset, unsigned size, uint64_t *value)
{
	if (!access_fits(offset, size))
		return FERR_INVAL;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		*value = read_config(t, offset, size);
		return FERR_OK;
	}
	*value = 0;
	if (size != REGISTER_BYTES || offset % REGISTER_BYTES) {
		virtio_mmio_fail(t, "a control register was read with other than an aligned 32-bit access");
		return FERR_OK;
	}
	*value = read_register(t, offset);
	return FERR_OK;
}

static void write_register(struct virtio_mmio *t, uint32_t offset, uint32_t value,
			   struct virtio_mmio_event *ev)
{
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->s.device_features_sel = value;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->s.driver_features_sel = value;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (t->s.status & VIRTIO_STATUS_FEATURES_OK) {
			virtio_mmio_fail(t, "the driver wrote features after FEATURES_OK");
			ev->kind = VIRTIO_MMIO_EV_FAILED;
		} else if (t->s.driver_features_sel < FEATURE_WORDS) {
			set_half(&t->s.driver_features, value, t->s.driver_features_sel == 1);
		} else {
			t->counters.ignored_writes++;   /* no feature bits past 63 exist */
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->s.queue_sel = value;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		write_queue_field(t, offset, value, ev);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		t->counters.notifies++;
		if (value >= t->dev.queue_count) {
			virtio_mmio_fail(t, "the driver notified a queue that does not exist");
			ev->kind = VIRTIO_MMIO_EV_FAILED;
		} else {
			ev->kind = VIRTIO_MMIO_EV_NOTIFY;
			ev->queue = value;
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		t->s.interrupt_status &= ~value;
		virtio_mmio_repulse(t);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(t, value, ev);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		break;   /* no regions: every selection reads as absent */
	default:
		t->counters.ignored_writes++;   /* read-only or reserved */
		break;
	}
}

int virtio_mmio_write(struct virtio_mmio *t, uint32_t offset, unsigned size, uint64_t value,
		      struct virtio_mmio_event *ev)
{
	ev->kind = VIRTIO_MMIO_EV_NONE;
	ev->queue = 0;
	if (!access_fits(offset, size))
		return FERR_INVAL;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		/* virtio-net's fields are read-only to a VERSION_1 driver (5.1.4). */
		t->counters.ignored_writes++;
		return FERR_OK;
	}
	if (size != REGISTER_BYTES || offset % REGISTER_BYTES) {
		virtio_mmio_fail(t, "a control register was written with other than an aligned 32-bit access");
		ev->kind = VIRTIO_MMIO_EV_FAILED;
		return FERR_OK;
	}
	write_register(t, offset, (uint32_t)value, ev);
	return FERR_OK;
}

/* ---- saved state ------------------------------------------------------------------------ */

void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_state *out)
{
	*out = t->s;
}

int virtio_mmio_check_state(const struct virtio_mmio *t, const struct virtio_mmio_state *s,
			    const char **why)
{
	uint32_t known = VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_DEVICE_NEEDS_RESET;

	if (s->status & ~known)
		return refuse(why, "virtio: reserved device status bits set");
	if (s->interrupt_status & ~VIRTIO_MMIO_INT_ALL)
		return refuse(why, "virtio: reserved interrupt status bits set");
	if ((s->status & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(t, s->driver_features))
		return refuse(why, "virtio: negotiated features this device does not offer");
	if ((s->status & VIRTIO_STATUS_DRIVER_OK) && !(s->status & VIRTIO_STATUS_FEATURES_OK))
		return refuse(why, "virtio: DRIVER_OK without FEATURES_OK");
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		const struct virtq *q = &s->queues[i];
		if (i >= t->dev.queue_count) {
			if (q->ready)
				return refuse(why, "virtio: a queue this device does not have is ready");
			continue;
		}
		if (q->ready) {
			int err = virtq_check_state(q, t->dev.queue_max[i], t->ram, why);
			if (err)
				return err;
		}
	}
	return FERR_OK;
}

int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *s, const char **why)
{
	int err = virtio_mmio_check_state(t, s, why);
	if (err)
		return err;
	t->s = *s;
	t->failure = (s->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		     ? "the device needed a reset before it migrated" : NULL;
	/* The line follows at resume (virtio_mmio_repulse). */
	t->line_high = false;
	return FERR_OK;
}
