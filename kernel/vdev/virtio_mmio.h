/*
 * The virtio-mmio transport, version 2 (virtio 1.1 section 4.2): the register file of
 * one device window (4 KiB at PLATFORM_VIRTIO_MMIO_BASE + i * PLATFORM_VIRTIO_MMIO_SIZE,
 * kernel/vdev/platform.h), read and written by offset and size as an MMIO exit
 * delivers them, the device status and feature negotiation, the queue registers
 * (struct virtq, virtqueue.h), the interrupt status and its line, and the reset.
 *
 * The transport knows no device type. The device behind it (virtio_net.c) gives its ID,
 * its features with their dependencies, its queues' maximum sizes and its
 * configuration space bytes; virtio_mmio_write() reports what the device must act on
 * (a queue notification, a reset, DRIVER_OK) as an event, so the register logic has no
 * callbacks into the device and is fuzzed alone.
 *
 * A driver that breaks a MUST of 4.2.2.2 / 3.1 gets DEVICE_NEEDS_RESET (2.1.1) with a
 * configuration change interrupt once DRIVER_OK is set, and the device stops using its
 * queues until the driver resets it (virtio_mmio_running() false): control registers
 * accessed with other than aligned 32-bit accesses, a status write that clears a bit
 * (other than the reset) or sets DRIVER_OK before FEATURES_OK, features written after
 * FEATURES_OK, queue registers written while the queue is ready, a queue made ready
 * with a bad size or rings outside RAM, a notification for a queue that does not
 * exist. FEATURES_OK is refused (reads back clear, 3.1.1) for features not offered,
 * without VIRTIO_F_VERSION_1 (no legacy interface: version 2 only) or without a feature
 * another one depends on. Writes to read-only registers and to the configuration space
 * are ignored (and counted); reads of write-only registers return 0. Accesses outside
 * the window or of a size other than 1, 2, 4 or 8 are the caller's error (FERR_INVAL):
 * the MMIO decoder never produces them.
 *
 * The interrupt line (`line` callback) is high while the interrupt status is not zero,
 * so it works with an I/O APIC pin programmed edge or level. An acknowledge that leaves
 * bits set drops the line and raises it again: an edge pin sees a new edge for the
 * bits the driver did not read (Linux acknowledges exactly what it read).
 *
 * The saved state (struct virtio_mmio_state) is plain data; virtio_mmio_check_state()
 * validates it against this device and guest RAM before virtio_mmio_load() touches
 * anything. Portable (image and host; tests/unit/test_virtio_mmio.c).
 */
#ifndef FERRY_VDEV_VIRTIO_MMIO_H
#define FERRY_VDEV_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/vdev/virtqueue.h"

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000u
#define VIRTIO_MMIO_VERSION             0x004u
#define VIRTIO_MMIO_DEVICE_ID           0x008u
#define VIRTIO_MMIO_VENDOR_ID           0x00cu
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010u
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014u
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020u
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024u
#define VIRTIO_MMIO_QUEUE_SEL           0x030u
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034u
#define VIRTIO_MMIO_QUEUE_NUM           0x038u
#define VIRTIO_MMIO_QUEUE_READY         0x044u
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050u
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060u
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064u
#define VIRTIO_MMIO_STATUS              0x070u
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080u
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084u
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090u
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094u
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0u
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4u
#define VIRTIO_MMIO_SHM_SEL             0x0acu   /* virtio 1.2 shared memory: none here */
#define VIRTIO_MMIO_SHM_LEN_LOW         0x0b0u
#define VIRTIO_MMIO_SHM_LEN_HIGH        0x0b4u
#define VIRTIO_MMIO_SHM_BASE_LOW        0x0b8u
#define VIRTIO_MMIO_SHM_BASE_HIGH       0x0bcu
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fcu
#define VIRTIO_MMIO_CONFIG              0x100u
#define VIRTIO_MMIO_WINDOW              0x1000u  /* PLATFORM_VIRTIO_MMIO_SIZE */

#define VIRTIO_MMIO_MAGIC           0x74726976u   /* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN  2u
#define VIRTIO_MMIO_FERRY_VENDOR    0x59524546u   /* "FERY" */
#define VIRTIO_MMIO_NO_SHM          0xffffffffu   /* a shared memory region's length: none */

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        0x01u
#define VIRTIO_STATUS_DRIVER             0x02u
#define VIRTIO_STATUS_DRIVER_OK          0x04u
#define VIRTIO_STATUS_FEATURES_OK        0x08u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40u
#define VIRTIO_STATUS_FAILED             0x80u
#define VIRTIO_STATUS_DRIVER_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
	VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)

/* Interrupt status bits (4.2.2). */
#define VIRTIO_MMIO_INT_USED_BUFFER 0x1u
#define VIRTIO_MMIO_INT_CONFIG      0x2u
#define VIRTIO_MMIO_INT_ALL         (VIRTIO_MMIO_INT_USED_BUFFER | VIRTIO_MMIO_INT_CONFIG)

/* Reserved feature bits (6). */
#define VIRTIO_F_VERSION_1 32u
#define VIRTIO_FEATURE(bit) (1ull << (bit))

#define VIRTIO_MMIO_MAX_QUEUES 3u
#define VIRTIO_MMIO_CONFIG_MAX 32u   /* bytes of device configuration space Ferry keeps */

/* A feature the driver may accept only together with `requires` (e.g. virtio-net 5.1.3.1). */
struct virtio_feature_dep {
	uint64_t feature;
	uint64_t requires;
};

/* What the device behind the transport is: fixed at virtio_mmio_init(). */
struct virtio_mmio_device {
	uint32_t device_id;
	uint64_t features;                        /* offered; must include VERSION_1 */
	const struct virtio_feature_dep *deps;    /* may be NULL */
	unsigned dep_count;
	unsigned queue_count;                     /* at most VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max[VIRTIO_MMIO_MAX_QUEUES];   /* powers of two, <= VIRTQ_MAX_SIZE */
	uint32_t config_len;                      /* at most VIRTIO_MMIO_CONFIG_MAX */
};

/* The transport's registers: what migrates. Plain fixed-width data. */
struct virtio_mmio_state {
	uint64_t driver_features;
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
};

/* Things the driver did that the transport counts (for vminfo). */
struct virtio_mmio_counters {
	uint64_t notifies;
	uint64_t resets;
	uint64_t ignored_writes;     /* read-only registers, configuration space */
	uint64_t needs_reset;        /* times the device stopped itself */
	uint64_t interrupts;         /* rising edges of the line */
};

typedef void (*virtio_mmio_line_fn)(void *ctx, bool high);

struct virtio_mmio {
	struct virtio_mmio_state s;
	struct virtio_mmio_device dev;
	const struct virtq_ram *ram;
	uint8_t config[VIRTIO_MMIO_CONFIG_MAX];   /* the device's configuration space */
	const char *failure;          /* why DEVICE_NEEDS_RESET was set last; NULL if never */
	struct virtio_mmio_counters counters;
	bool line_high;
	virtio_mmio_line_fn line;     /* may be NULL */
	void *line_ctx;
};

/* What a register write asks of the device. */
enum virtio_mmio_event_kind {
	VIRTIO_MMIO_EV_NONE,
	VIRTIO_MMIO_EV_NOTIFY,       /* the driver notified queue `queue` (a queue that exists) */
	VIRTIO_MMIO_EV_RESET,        /* the driver reset the device: forget device state */
	VIRTIO_MMIO_EV_DRIVER_OK,    /* the driver set DRIVER_OK: the device is live */
	VIRTIO_MMIO_EV_FAILED,       /* the write broke a rule: the device stopped itself */
};

struct virtio_mmio_event {
	enum virtio_mmio_event_kind kind;
	unsigned queue;
};

/* The power-on state: status 0, every queue not ready with QueueNum = its maximum. */
void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_mmio_device *dev,
		      const struct virtq_ram *ram, virtio_mmio_line_fn line, void *line_ctx);

/* A register access at `offset` in the window (size 1, 2, 4 or 8 bytes). */
int virtio_mmio_read(struct virtio_mmio *t, uint32_t offset, unsigned size, uint64_t *value);
int virtio_mmio_write(struct virtio_mmio *t, uint32_t offset, unsigned size, uint64_t value,
		      struct virtio_mmio_event *ev);

/* True while the device may use its queues: DRIVER_OK, not DEVICE_NEEDS_RESET, not FAILED. */
bool virtio_mmio_running(const struct virtio_mmio *t);
/* Whether the driver negotiated feature bit `bit` (FEATURES_OK set). */
bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit);
/* Queue q when it exists and is ready, else NULL. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned q);

/* Sets interrupt status bits and raises the line. */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits);
/* The device changed its configuration space: a new generation, and when `notify`, a
 * configuration change interrupt (once the driver has set DRIVER_OK). */
void virtio_mmio_config_changed(struct virtio_mmio *t, bool notify);
/* The device found the driver misbehaving: DEVICE_NEEDS_RESET, stop, tell the driver. */
void virtio_mmio_fail(struct virtio_mmio *t, const char *why);
/* Drops the line and raises it again when the interrupt status is not zero (after a
 * restore: the interrupt reaches the guest at least once). */
void virtio_mmio_repulse(struct virtio_mmio *t);

/* The saved state; check validates every field against this device and RAM (each ready
 * queue with virtq_check_state), load checks and then copies. */
void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_state *out);
int virtio_mmio_check_state(const struct virtio_mmio *t, const struct virtio_mmio_state *s,
			    const char **why);
int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *s, const char **why);

#endif
