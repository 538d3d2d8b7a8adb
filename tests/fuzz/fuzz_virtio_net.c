/*
 * libFuzzer target for virtio-net over virtio-mmio (kernel/vdev/virtio_net.c,
 * virtio_mmio.c, virtqueue.c, virtio_net_state.c) with hostile rings over a fake guest
 * RAM, on a port of the virtual switch (net/vswitch.c) as the image wires it: arbitrary
 * bytes are a program of register accesses, guest writes anywhere in RAM (descriptors,
 * ring indices, flags), frames from the wire, a busy port, a host that answers each
 * frame from inside the send (as Ferry's own stack does, through vswitch_from_host),
 * another guest's port coming and going, reserved MACs, quiesce / resume / announce, a
 * save and load into a second device, and loads of raw hostile state sections.
 *
 * A bug is: a crash or sanitizer report (any access outside the fake RAM is one); a byte
 * of RAM the device changed without reporting it to the dirty hook; a ready queue with a
 * descriptor in flight at rest; DEVICE_NEEDS_RESET without a reason or the reverse; the
 * interrupt line not following the interrupt status; a state the device saved that its
 * own validator refuses for any reason but the guest's available index; a loaded state
 * that does not save back the same; a frame reaching the wire or Ferry's stack from the
 * guest with another source MAC than its port's; a switch whose ports break its rules.
 *
 * Each operation is one opcode byte and eight argument bytes (missing ones read as 0).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "kernel/lib/errors.h"
#include "kernel/vdev/virtio_net.h"
#include "net/vswitch.h"
#include "tests/unit/virtio_fixtures.h"

enum op {
	OP_MMIO_WRITE, OP_MMIO_READ, OP_RAM_WRITE, OP_DESC, OP_PUBLISH, OP_RECEIVE, OP_BRING_UP,
	OP_NOTIFY, OP_PORT_BUSY, OP_QUIESCE, OP_RESUME, OP_ANNOUNCE, OP_POLL, OP_MIGRATE,
	OP_LOAD_RAW, OP_SWITCH, OP_COUNT
};

#define OP_BYTES 9
#define MAX_OPS  512

/* The rings a bring-up sets: queue q's areas at RING_BASE + q * RING_STRIDE. */
#define RING_BASE   0x1000u
#define RING_STRIDE 0x2000u
#define AVAIL_AT    0x1000u   /* from the descriptor table */
#define USED_AT     0x1400u
#define RING_SIZE   16u

static const char *AVAIL_AHEAD = "the available index ran more than the queue size ahead";
static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t HOST_MAC[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t BROADCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct world {
	struct fake_ram f;
	struct virtio_net n[2];
	unsigned cur;          /* which of n[] is the guest's device */
	bool busy;
	bool echo;             /* the port answers each frame at once, from inside send */
	bool line;
	bool loaded;           /* loaded and not resumed: the line waits */
	uint8_t frame[2048];
	uint8_t reply[2048];
	struct vswitch sw;
	int port;              /* the guest's port */
	int peer;              /* another guest's, or -1 */
	uint8_t peer_mac[6];
	uint64_t now_ms;
};

static struct world w;

/* The guest's device sends into its switch port. */
static int port_send(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (!frame || len < VIRTIO_NET_MIN_FRAME || len > VIRTIO_NET_MAX_FRAME)
		abort();
	if (w.busy)
		return FERR_BUSY;
	vswitch_from_port(&w.sw, w.port, frame, len, w.now_ms);
	return FERR_OK;
}

/* The switch delivers to the guest's port. */
static void to_guest(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	virtio_net_receive(&w.n[w.cur], frame, len);
}

static void to_peer(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	(void)len;
}

/* Only the guest's ports send to the wire here: always with its pinned MAC. */
static void to_wire(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (len < 12 || memcmp(frame + 6, GUEST_MAC, 6) != 0)
		abort();
}

/* Ferry's stack: sees only the guest's pinned MAC, and may answer at once. */
static void to_host(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	if (len < 12 || memcmp(frame + 6, GUEST_MAC, 6) != 0)
		abort();
	if (!w.echo || len > sizeof(w.reply))
		return;
	memcpy(w.reply, frame + 6, 6);
	memcpy(w.reply + 6, HOST_MAC, 6);
	memcpy(w.reply + 12, frame + 12, len - 12);
	vswitch_from_host(&w.sw, w.reply, len);
}

/* The switch's own rules hold whatever happened. */
static void check_switch(void)
{
	unsigned used = 0;
	for (int i = 0; i < VSWITCH_MAX_PORTS; i++) {
		const struct vswitch_port *p = &w.sw.ports[i];
		if (!p->used)
			continue;
		used++;
		if (eth_is_multicast(p->mac) || eth_mac_equal(p->mac, HOST_MAC))
			abort();
		for (unsigned r = 0; r < w.sw.reserved_count; r++)
			if (eth_mac_equal(p->mac, w.sw.reserved[r]))
				abort();
		for (int j = i + 1; j < VSWITCH_MAX_PORTS; j++)
			if (w.sw.ports[j].used && eth_mac_equal(p->mac, w.sw.ports[j].mac))
				abort();
	}
	if (used != w.sw.port_count)
		abort();
}

static void port_line(void *ctx, bool high)
{
	(void)ctx;
	w.line = high;
}

static uint64_t arg(const uint8_t *p, unsigned from, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[from + i] << (8 * i);
	return v;
}

/* The guest's own writes are not the device's: `before` follows them. */
static void guest_wrote(uint64_t gpa, uint64_t len)
{
	memcpy(w.f.before + gpa, w.f.mem + gpa, len);
}

static struct virtio_net *dev(void)
{
	return &w.n[w.cur];
}

static void mmio_write(uint32_t offset, uint32_t value)
{
	virtio_net_mmio_write(dev(), offset, 4, value);
}

static void bring_up(uint8_t features, uint8_t queues)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	mmio_write(VIRTIO_MMIO_STATUS, 0);
	mmio_write(VIRTIO_MMIO_STATUS, st);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	/* bits 0-3 of `features` pick MAC, STATUS, CTRL_VQ, GUEST_ANNOUNCE */
	uint32_t low = ((features & 1u) ? 1u << VIRTIO_NET_F_MAC : 0) |
		       ((features & 2u) ? 1u << VIRTIO_NET_F_STATUS : 0) |
		       ((features & 4u) ? 1u << VIRTIO_NET_F_CTRL_VQ : 0) |
		       ((features & 8u) ? 1u << VIRTIO_NET_F_GUEST_ANNOUNCE : 0);
	mmio_write(VIRTIO_MMIO_DRIVER_FEATURES, low);
	mmio_write(VIRTIO_MMIO_STATUS, st |= VIRTIO_STATUS_FEATURES_OK);
	for (uint32_t q = 0; q < VIRTIO_NET_QUEUES; q++) {
		if (!(queues >> q & 1u))
			continue;
		uint32_t desc = RING_BASE + q * RING_STRIDE;
		mmio_write(VIRTIO_MMIO_QUEUE_SEL, q);
		mmio_write(VIRTIO_MMIO_QUEUE_NUM, RING_SIZE);
		mmio_write(VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
		mmio_write(VIRTIO_MMIO_QUEUE_DRIVER_LOW, desc + AVAIL_AT);
		mmio_write(VIRTIO_MMIO_QUEUE_DEVICE_LOW, desc + USED_AT);
		mmio_write(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	mmio_write(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
}

static void check_invariants(void)
{
	struct virtio_net *n = dev();
	const struct virtio_mmio *t = &n->mmio;

	if (!fake_ram_changes_reported(&w.f))
		abort();
	if (((t->s.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0) != (t->failure != NULL))
		abort();
	if (!w.loaded && (w.line != t->line_high || t->line_high != (t->s.interrupt_status != 0)))
		abort();
	for (unsigned q = 0; q < VIRTIO_NET_QUEUES; q++)
		if (t->s.queues[q].ready && t->s.queues[q].last_avail != t->s.queues[q].used_idx)
			abort();
	check_switch();
}

/* Another guest's port comes or goes, or a MAC is reserved (arguments pick the MAC). */
static void switch_op(const uint8_t *p)
{
	uint8_t mac[6];
	memcpy(mac, p + 2, 6);
	if (p[1] & 1u)
		memcpy(mac, (p[1] & 2u) ? GUEST_MAC : HOST_MAC, 6);
	switch (p[1] >> 2 & 3u) {
	case 0:
		if (w.peer >= 0 && vswitch_detach(&w.sw, w.peer) == FERR_OK)
			w.peer = -1;
		break;
	case 1:
		if (w.peer < 0) {
			int port = vswitch_attach(&w.sw, mac, to_peer, NULL);
			if (port >= 0) {
				w.peer = port;
				memcpy(w.peer_mac, mac, 6);
			}
		}
		break;
	default:
		vswitch_reserve(&w.sw, mac);
		break;
	}
}

/* The device's own saved state must pass its validator but for the guest's index. */
static void check_own_state(const struct virtio_net *n, const struct virtio_net_state *s)
{
	const char *why = NULL;
	if (virtio_net_check_state(n, s, &why) != FERR_OK && strcmp(why, AVAIL_AHEAD) != 0)
		abort();
}

/* Saves the quiesced device, round-trips the section and loads it into the other one. */
static void migrate(void)
{
	struct virtio_net *src = dev(), *dst = &w.n[!w.cur];
	struct virtio_net_state s, back;
	uint8_t payload[VIRTIO_NET_STATE_BYTES];
	const char *why;

	if (virtio_net_save(src, &s) != FERR_OK)
		return;
	check_own_state(src, &s);
	if (virtio_net_state_encode(&s, payload, sizeof(payload)) != VIRTIO_NET_STATE_BYTES)
		abort();
	if (virtio_net_state_decode(VIRTIO_NET_STATE_VERSION, payload, sizeof(payload), &back, &why))
		abort();
	if (memcmp(&s, &back, sizeof(s)) != 0)
		abort();
	virtio_net_init(dst, src->mac, &w.f.ram, port_send, NULL, port_line, NULL);
	if (virtio_net_load(dst, &back, &why) == FERR_OK) {
		w.cur = !w.cur;
		w.loaded = true;
		w.line = false;   /* the new device's line starts low */
	}
}

/* Decodes hostile bytes as a section and, when the validator lets it in, uses it. */
static void load_raw(const uint8_t *bytes, size_t len)
{
	struct virtio_net *dst = &w.n[!w.cur];
	struct virtio_net_state s, again;
	const char *why;

	if (virtio_net_state_decode(VIRTIO_NET_STATE_VERSION, bytes, len, &s, &why))
		return;
	virtio_net_init(dst, s.mac, &w.f.ram, port_send, NULL, port_line, NULL);
	if (virtio_net_load(dst, &s, &why))
		return;
	if (virtio_net_save(dst, &again) != FERR_OK || memcmp(&s, &again, sizeof(s)) != 0)
		abort();
	w.cur = !w.cur;
	w.loaded = true;
	w.line = false;
}

static void run_op(const uint8_t *p, const uint8_t *rest, size_t rest_len)
{
	struct virtio_net *n = dev();
	uint64_t v;
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	switch (p[0] % OP_COUNT) {
	case OP_MMIO_WRITE:
		virtio_net_mmio_write(n, (uint32_t)arg(p, 1, 2) & 0x1fffu, sizes[p[3] & 3], arg(p, 4, 4));
		break;
	case OP_MMIO_READ:
		virtio_net_mmio_read(n, (uint32_t)arg(p, 1, 2) & 0x1fffu, sizes[p[3] & 3], &v);
		break;
	case OP_RAM_WRITE: {
		uint32_t gpa = (uint32_t)arg(p, 1, 2) % (FAKE_RAM_BYTES - 4);
		memcpy(w.f.mem + gpa, p + 3, 4);
		guest_wrote(gpa, 4);
		break;
	}
	case OP_DESC: {
		/* A descriptor of a bring-up's ring: addresses mostly inside RAM, some not. */
		unsigned q = p[1] % VIRTIO_NET_QUEUES;
		uint64_t at = RING_BASE + q * RING_STRIDE + (uint64_t)(p[2] % RING_SIZE) * VIRTQ_DESC_BYTES;
		uint64_t addr = (p[8] & 0x80) ? arg(p, 3, 2) * 0x10001ull : 0x8000 + arg(p, 3, 2) % 0x8000;
		uint32_t len = (uint32_t)arg(p, 5, 2) % 0x900u;
		put64(&w.f, at, addr);
		put32(&w.f, at + 8, len);
		put16(&w.f, at + 12, p[7] & 7u);
		put16(&w.f, at + 14, p[8] & 0x1fu);
		guest_wrote(at, VIRTQ_DESC_BYTES);
		break;
	}
	case OP_PUBLISH: {
		unsigned q = p[1] % VIRTIO_NET_QUEUES;
		uint64_t avail = RING_BASE + q * RING_STRIDE + AVAIL_AT;
		uint16_t idx = get16(&w.f, avail + 2);
		put16(&w.f, avail + 4 + 2u * (idx % RING_SIZE), p[2]);
		put16(&w.f, avail + 2, (uint16_t)(idx + 1 + (p[3] == 0xff ? p[4] : 0)));
		put16(&w.f, avail, p[5] & 1u);
		guest_wrote(avail, VIRTQ_AVAIL_AREA(RING_SIZE));
		break;
	}
	case OP_RECEIVE: {
		/* A frame from the wire: for the guest, everyone, the other guest or anyone. */
		size_t len = (size_t)arg(p, 1, 2) % sizeof(w.frame);
		const uint8_t *dst[4] = { GUEST_MAC, BROADCAST, w.peer_mac, p + 3 };
		memset(w.frame, p[8], len);
		if (len >= 12)
			memcpy(w.frame, dst[p[4] & 3u], 6);
		if (p[4] & 4u)
			virtio_net_receive(n, w.frame, len);   /* straight in, any length */
		else
			vswitch_from_uplink(&w.sw, w.frame, len, w.now_ms);
		break;
	}
	case OP_BRING_UP:
		bring_up(p[1], p[2] | 3u);
		break;
	case OP_NOTIFY:
		mmio_write(VIRTIO_MMIO_QUEUE_NOTIFY, p[1] % (VIRTIO_NET_QUEUES + 1));
		break;
	case OP_PORT_BUSY:
		w.busy = p[1] & 1u;
		w.echo = p[1] & 2u;
		break;
	case OP_QUIESCE:
		virtio_net_quiesce(n);
		break;
	case OP_RESUME:
		virtio_net_resume(n);
		w.loaded = false;
		break;
	case OP_ANNOUNCE:
		virtio_net_announce(n);
		break;
	case OP_POLL:
		virtio_net_poll(n);
		break;
	case OP_MIGRATE:
		migrate();
		break;
	case OP_LOAD_RAW:
		load_raw(rest, rest_len < VIRTIO_NET_STATE_BYTES ? rest_len : VIRTIO_NET_STATE_BYTES);
		break;
	case OP_SWITCH:
		switch_op(p);
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Linux's bring-up with every feature, an RX buffer, a frame in, a frame out,
	 * a migration, the announcement and its acknowledge. */
	static const uint8_t linux_like[][OP_BYTES] = {
		{ OP_BRING_UP, 0x0f, 0x07, 0, 0, 0, 0, 0, 0 },
		{ OP_DESC, 0, 0, 0x00, 0x00, 0x00, 0x06, VIRTQ_DESC_F_WRITE, 0 },
		{ OP_PUBLISH, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_NOTIFY, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_RECEIVE, 0x40, 0x00, 0xab, 0, 0, 0, 0, 0 },
		{ OP_DESC, 1, 0, 0x00, 0x10, 0x4a, 0x00, 0, 0 },
		{ OP_PUBLISH, 1, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_NOTIFY, 1, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_QUIESCE, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_MIGRATE, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_RESUME, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_ANNOUNCE, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_RAM_WRITE, 0x00, 0x90, 3, 0, 0, 0, 0, 0 },
		{ OP_DESC, 2, 0, 0x00, 0x10, 0x02, 0x00, VIRTQ_DESC_F_NEXT, 1 },
		{ OP_DESC, 2, 1, 0x02, 0x10, 0x01, 0x00, VIRTQ_DESC_F_WRITE, 0 },
		{ OP_PUBLISH, 2, 0, 0, 0, 0, 0, 0, 0 },
		{ OP_NOTIFY, 2, 0, 0, 0, 0, 0, 0, 0 },
	};
	fuzz_write_seed("linux", linux_like, sizeof(linux_like));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&w, 0, sizeof(w));
	fake_ram_init(&w.f);
	virtio_net_init(&w.n[0], GUEST_MAC, &w.f.ram, port_send, NULL, port_line, NULL);
	vswitch_init(&w.sw, HOST_MAC, to_wire, NULL, to_host, NULL, NULL, NULL);
	w.port = vswitch_attach(&w.sw, GUEST_MAC, to_guest, NULL);
	w.peer = -1;
	fake_ram_mark(&w.f);

	unsigned ops = 0;
	for (size_t at = 0; at < size && ops < MAX_OPS; at += OP_BYTES, ops++) {
		uint8_t p[OP_BYTES] = { 0 };
		size_t n = size - at < OP_BYTES ? size - at : OP_BYTES;
		memcpy(p, data + at, n);
		const uint8_t *rest = data + at + n;
		size_t rest_len = size - at - n;
		enum op op = (enum op)(p[0] % OP_COUNT);
		w.now_ms += p[8];
		run_op(p, rest, rest_len);
		check_invariants();
		fake_ram_remark(&w.f);
		if (op == OP_LOAD_RAW)
			at += rest_len < VIRTIO_NET_STATE_BYTES ? rest_len : VIRTIO_NET_STATE_BYTES;
	}
	return 0;
}
