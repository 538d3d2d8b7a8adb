/* Intel e1000 driver; see e1000.h. Register and bit names follow the 8254x SDM chapter 13. */
#include "drivers/e1000.h"
#include "drivers/desc_ring.h"
#include "drivers/pci.h"
#include "arch/x86/paging.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"
#include "kernel/log.h"
#include "kernel/memory.h"

#include <stddef.h>
#include <string.h>

/* ---- PCI identities ---------------------------------------------------------------- */
#define PCI_VENDOR_INTEL   0x8086
#define DEVICE_82540EM     0x100e
#define DEVICE_82545EM     0x100f
#define DEVICE_82574L      0x10d3

/* ---- registers (8254x SDM 13.4; offsets from BAR0) --------------------------------- */
#define REG_CTRL     0x0000   /* device control */
#define REG_STATUS   0x0008   /* device status */
#define REG_EERD     0x0014   /* EEPROM read */
#define REG_ICR      0x00c0   /* interrupt cause read (clears on read) */
#define REG_IMC      0x00d8   /* interrupt mask clear */
#define REG_RCTL     0x0100   /* receive control */
#define REG_TCTL     0x0400   /* transmit control */
#define REG_TIPG     0x0410   /* transmit inter-packet gap */
#define REG_RX_RING  0x2800   /* the receive ring's registers (RDBAL...RDT), see RING_* */
#define REG_RDT      (REG_RX_RING + RING_TAIL)
#define REG_RDTR     0x2820   /* receive interrupt delay timer */
#define REG_TX_RING  0x3800   /* the transmit ring's registers (TDBAL...TDT) */
#define REG_TDT      (REG_TX_RING + RING_TAIL)
#define REG_MTA      0x5200   /* multicast table array, 128 dwords */
#define REG_RAL0     0x5400   /* receive address 0, low and high */
#define REG_RAH0     0x5404
/* Statistics (8254x SDM 13.7): all clear on read. */
#define REG_CRCERRS  0x4000   /* CRC errors */
#define REG_SYMERRS  0x4008   /* symbol errors */
#define REG_RXERRC   0x400c   /* receive errors */
#define REG_MPC      0x4010   /* missed packets (no room in the receive FIFO) */
#define REG_RLEC     0x4040   /* receive length errors */
#define REG_RNBC     0x40a0   /* receive no buffers (no free descriptor) */
#define REG_RUC      0x40a4   /* receive undersize (runts) */
#define REG_ROC      0x40ac   /* receive oversize */

#define MTA_ENTRIES  128

/*
 * A ring's registers, from its base: the receive ring's (RDBAL, RDBAH, RDLEN, RDH,
 * RDT) and the transmit ring's (TDBAL...TDT) have the same layout (8254x SDM 13.4).
 */
#define RING_BASE_LOW   0x00   /* descriptor area's physical address, low and high */
#define RING_BASE_HIGH  0x04
#define RING_LENGTH     0x08   /* in bytes, a multiple of 128 */
#define RING_HEAD       0x10   /* the device's index */
#define RING_TAIL       0x18   /* the driver's: one past the last slot handed over */

/* CTRL bits (8254x SDM 13.4.1) */
#define CTRL_FD       (1u << 0)    /* full duplex */
#define CTRL_LRST     (1u << 3)    /* link reset */
#define CTRL_ASDE     (1u << 5)    /* auto-speed detection */
#define CTRL_SLU      (1u << 6)    /* set link up */
#define CTRL_ILOS     (1u << 7)    /* invert loss-of-signal */
#define CTRL_RST      (1u << 26)   /* device reset (self-clearing) */
#define CTRL_VME      (1u << 30)   /* VLAN mode */
#define CTRL_PHY_RST  (1u << 31)

/* STATUS bits (8254x SDM 13.4.2) */
#define STATUS_LU          (1u << 1)   /* link up */
#define STATUS_SPEED_SHIFT 6
#define STATUS_SPEED_MASK  3u
#define STATUS_SPEED_10    0u
#define STATUS_SPEED_100   1u

/* EERD (8254x SDM 13.4.4; the 82574 moves DONE and the address) */
#define EERD_START              (1u << 0)
#define EERD_DONE_8254X         (1u << 4)
#define EERD_ADDR_SHIFT_8254X   8
#define EERD_DONE_82574         (1u << 1)
#define EERD_ADDR_SHIFT_82574   2
#define EERD_DATA_SHIFT         16
#define EEPROM_MAC_WORDS        3     /* words 0-2 hold the MAC */
#define EERD_TIMEOUT_US         10000

/* RCTL bits (8254x SDM 13.4.22) */
#define RCTL_EN         (1u << 1)    /* receiver enable */
#define RCTL_SBP        (1u << 2)    /* store bad packets */
#define RCTL_UPE        (1u << 3)    /* unicast promiscuous */
#define RCTL_MPE        (1u << 4)    /* multicast promiscuous */
#define RCTL_LPE        (1u << 5)    /* long packets (over 1522 bytes) */
#define RCTL_BAM        (1u << 15)   /* accept broadcast */
#define RCTL_BSIZE_2048 (0u << 16)   /* buffer size 2048 (with BSEX clear) */
#define RCTL_SECRC      (1u << 26)   /* strip the Ethernet CRC */

/* TCTL bits (8254x SDM 13.4.33) */
#define TCTL_EN          (1u << 1)
#define TCTL_PSP         (1u << 3)    /* pad short packets to 64 bytes */
#define TCTL_CT_SHIFT    4            /* collision threshold */
#define TCTL_CT_DEFAULT  0x0fu
#define TCTL_COLD_SHIFT  12           /* collision distance */
#define TCTL_COLD_FULL_DUPLEX 0x40u

/* TIPG for copper (8254x SDM 13.4.34: IPGT 10, IPGR1 8, IPGR2 6) */
#define TIPG_IPGT        10u
#define TIPG_IPGR1_SHIFT 10
#define TIPG_IPGR1       8u
#define TIPG_IPGR2_SHIFT 20
#define TIPG_IPGR2       6u

#define RAH_AV           (1u << 31)   /* address valid */
#define IMC_ALL          0xffffffffu

/* ---- descriptors (8254x SDM 3.2.3 receive, 3.3.3 legacy transmit) ------------------- */
struct rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t checksum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};

struct tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};

/* One ring set-up serves both: both formats are 16 bytes and start with the buffer address. */
union desc {
	uint64_t buffer_addr;
	struct rx_desc rx;
	struct tx_desc tx;
};

_Static_assert(sizeof(struct rx_desc) == 16, "legacy RX descriptor is 16 bytes");
_Static_assert(sizeof(struct tx_desc) == 16, "legacy TX descriptor is 16 bytes");
_Static_assert(offsetof(struct rx_desc, addr) == 0 && offsetof(struct tx_desc, addr) == 0,
	       "both legacy descriptors start with the buffer address");

#define RXD_STAT_DD   (1u << 0)   /* descriptor done */
#define RXD_STAT_EOP  (1u << 1)   /* end of packet */
#define RXD_ERR_CE    (1u << 0)   /* CRC or alignment error */
#define RXD_ERR_SE    (1u << 1)   /* symbol error */
#define RXD_ERR_SEQ   (1u << 2)   /* sequence error */
#define RXD_ERR_CXE   (1u << 4)   /* carrier extension error */
#define RXD_ERR_RXE   (1u << 7)   /* RX data error */
#define RXD_ERR_FRAME (RXD_ERR_CE | RXD_ERR_SE | RXD_ERR_SEQ | RXD_ERR_CXE | RXD_ERR_RXE)

#define TXD_CMD_EOP   (1u << 0)   /* end of packet */
#define TXD_CMD_IFCS  (1u << 1)   /* insert FCS */
#define TXD_CMD_RS    (1u << 3)   /* report status (sets DD when done) */
#define TXD_STAT_DD   (1u << 0)

/* ---- ring sizes ----------------------------------------------------------------------- */
#define RX_RING_SIZE  256         /* powers of two (desc_ring.h), multiples of 8 (RING_LENGTH) */
#define TX_RING_SIZE  256
#define BUFFER_SIZE   2048
#define RING_BYTES(n) ((n) * sizeof(union desc))
#define IS_POWER_OF_TWO(n) ((n) != 0 && ((n) & ((n) - 1)) == 0)
_Static_assert(IS_POWER_OF_TWO(RX_RING_SIZE) && IS_POWER_OF_TWO(TX_RING_SIZE),
	       "desc_ring.h takes counts modulo the size");
_Static_assert(RX_RING_SIZE % 8 == 0 && TX_RING_SIZE % 8 == 0,
	       "RDLEN and TDLEN are multiples of 128 bytes");
#define RESET_TIMEOUT_US 100000
#define RESET_SETTLE_US  10

struct e1000 {
	struct nic nic;
	volatile uint8_t *regs;
	const struct pci_device *pci;
	bool eerd_82574;
	struct desc_ring rx;       /* with the device: empty buffers; taken back: received frames */
	struct desc_ring tx;       /* with the device: frames to send; taken back: sent ones */
	bool rx_discarding;        /* inside a frame that spans buffers: drop until EOP */
	bool promiscuous;
	struct nic_stats stats;
	uint64_t hw_stats_at_ms;
};

static struct e1000 adapter;
static struct frame_owner nic_owner = { .name = "nic" };

static uint32_t rd(const struct e1000 *e, uint32_t reg)
{
	return *(volatile uint32_t *)(e->regs + reg);
}

static void wr(struct e1000 *e, uint32_t reg, uint32_t value)
{
	*(volatile uint32_t *)(e->regs + reg) = value;
}

/* Orders descriptor writes in RAM before the tail write that hands them to the device. */
static inline void write_barrier(void)
{
	__asm__ volatile("sfence" ::: "memory");
}

static inline void compiler_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* ---- set-up --------------------------------------------------------------------------- */
static int reset(struct e1000 *e)
{
	wr(e, REG_IMC, IMC_ALL);
	wr(e, REG_RCTL, 0);
	wr(e, REG_TCTL, 0);
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	clock_delay_us(RESET_SETTLE_US);
	uint64_t deadline = clock_us() + RESET_TIMEOUT_US;
	while (rd(e, REG_CTRL) & CTRL_RST)
		if (clock_us() > deadline)
			return FERR_IO;
	wr(e, REG_IMC, IMC_ALL);   /* the reset re-enables nothing, but be explicit */
	(void)rd(e, REG_ICR);
	uint32_t ctrl = rd(e, REG_CTRL);
	ctrl &= ~(CTRL_LRST | CTRL_PHY_RST | CTRL_VME | CTRL_ILOS);
	wr(e, REG_CTRL, ctrl | CTRL_SLU | CTRL_ASDE);
	return FERR_OK;
}

static bool eeprom_read(struct e1000 *e, unsigned word, uint16_t *out)
{
	uint32_t done = e->eerd_82574 ? EERD_DONE_82574 : EERD_DONE_8254X;
	unsigned shift = e->eerd_82574 ? EERD_ADDR_SHIFT_82574 : EERD_ADDR_SHIFT_8254X;

	wr(e, REG_EERD, EERD_START | (uint32_t)word << shift);
	uint64_t deadline = clock_us() + EERD_TIMEOUT_US;
	for (;;) {
		uint32_t v = rd(e, REG_EERD);
		if (v & done) {
			*out = (uint16_t)(v >> EERD_DATA_SHIFT);
			return true;
		}
		if (clock_us() > deadline)
			return false;
	}
}

static void read_mac(struct e1000 *e)
{
	uint16_t words[EEPROM_MAC_WORDS];
	bool from_eeprom = true;

	for (unsigned i = 0; i < EEPROM_MAC_WORDS && from_eeprom; i++)
		from_eeprom = eeprom_read(e, i, &words[i]);
	if (from_eeprom) {
		for (unsigned i = 0; i < EEPROM_MAC_WORDS; i++) {
			e->nic.mac[2 * i] = words[i] & 0xff;
			e->nic.mac[2 * i + 1] = words[i] >> 8;
		}
	} else {
		uint32_t low = rd(e, REG_RAL0), high = rd(e, REG_RAH0);
		for (unsigned i = 0; i < 4; i++)
			e->nic.mac[i] = (uint8_t)(low >> (8 * i));
		e->nic.mac[4] = high & 0xff;
		e->nic.mac[5] = (high >> 8) & 0xff;
	}
	/* Program RAL0/RAH0 so the receive filter accepts this address. */
	const uint8_t *m = e->nic.mac;
	wr(e, REG_RAL0, (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 |
			(uint32_t)m[3] << 24);
	wr(e, REG_RAH0, (uint32_t)m[4] | (uint32_t)m[5] << 8 | RAH_AV);
	klog_info("e1000: MAC %02x:%02x:%02x:%02x:%02x:%02x from %s", m[0], m[1], m[2], m[3],
		  m[4], m[5], from_eeprom ? "EEPROM" : "RAL0/RAH0");
}

static int alloc_rings(struct e1000 *e)
{
	/* One run of frames: the two descriptor areas (4 KiB each), then the RX and TX buffers. */
	uint64_t desc_frames = 2;
	uint64_t buffer_frames = (uint64_t)(RX_RING_SIZE + TX_RING_SIZE) * BUFFER_SIZE / FRAME_SIZE;
	uint64_t phys;

	_Static_assert(RING_BYTES(RX_RING_SIZE) <= FRAME_SIZE, "RX ring fits a frame");
	_Static_assert(RING_BYTES(TX_RING_SIZE) <= FRAME_SIZE, "TX ring fits a frame");
	int err = mem_alloc(&nic_owner, desc_frames + buffer_frames, 1, &phys);
	if (err)
		return err;
	uint8_t *base = phys_to_ptr(phys);
	uint64_t rx_buffers = phys + desc_frames * FRAME_SIZE;
	uint64_t tx_buffers = rx_buffers + RX_RING_SIZE * BUFFER_SIZE;
	desc_ring_init(&e->rx, RX_RING_SIZE, base, sizeof(union desc), phys_to_ptr(rx_buffers),
		       rx_buffers, BUFFER_SIZE);
	desc_ring_init(&e->tx, TX_RING_SIZE, base + FRAME_SIZE, sizeof(union desc),
		       phys_to_ptr(tx_buffers), tx_buffers, BUFFER_SIZE);
	return FERR_OK;
}

static volatile union desc *desc_at(const struct desc_ring *r, uint32_t count)
{
	return desc_ring_desc(r, desc_ring_slot(r, count));
}

/*
 * Points every descriptor at its buffer and gives the device the ring (`regs`:
 * REG_RX_RING or REG_TX_RING), with the slots already handed over (r->prod).
 */
static void start_ring(struct e1000 *e, const struct desc_ring *r, uint32_t regs)
{
	for (unsigned slot = 0; slot < r->size; slot++)
		desc_at(r, slot)->buffer_addr = desc_ring_buffer_phys(r, slot);
	uint64_t descs = ptr_to_phys(r->descs);
	wr(e, regs + RING_BASE_LOW, (uint32_t)descs);
	wr(e, regs + RING_BASE_HIGH, (uint32_t)(descs >> 32));
	wr(e, regs + RING_LENGTH, r->size * r->desc_bytes);
	wr(e, regs + RING_HEAD, 0);
	wr(e, regs + RING_TAIL, desc_ring_slot(r, r->prod));
}

static void start_rx(struct e1000 *e)
{
	for (unsigned i = 0; i < MTA_ENTRIES; i++)
		wr(e, REG_MTA + 4 * i, 0);
	desc_ring_fill(&e->rx);   /* every buffer the device may have */
	start_ring(e, &e->rx, REG_RX_RING);
	wr(e, REG_RDTR, 0);
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC);
}

static void start_tx(struct e1000 *e)
{
	start_ring(e, &e->tx, REG_TX_RING);
	wr(e, REG_TIPG, TIPG_IPGT | TIPG_IPGR1 << TIPG_IPGR1_SHIFT | TIPG_IPGR2 << TIPG_IPGR2_SHIFT);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT_DEFAULT << TCTL_CT_SHIFT |
			TCTL_COLD_FULL_DUPLEX << TCTL_COLD_SHIFT);
}

/* ---- operation ------------------------------------------------------------------------- */
static struct e1000 *to_e1000(struct nic *nic)
{
	return (struct e1000 *)nic;   /* nic is the first member */
}

/* Takes back the descriptors the device has sent. */
static void reclaim_tx(struct e1000 *e)
{
	while (desc_ring_in_flight(&e->tx)) {
		if (!(desc_at(&e->tx, e->tx.cons)->tx.status & TXD_STAT_DD))
			break;
		e->tx.cons++;
	}
}

static int e1000_send(struct nic *nic, const void *frame, size_t len)
{
	struct e1000 *e = to_e1000(nic);

	if (len < NIC_MIN_FRAME || len > NIC_MAX_FRAME) {
		e->stats.tx_errors++;
		return FERR_INVAL;
	}
	reclaim_tx(e);
	if (desc_ring_full(&e->tx)) {
		e->stats.tx_dropped++;
		return FERR_BUSY;
	}
	unsigned slot = desc_ring_slot(&e->tx, e->tx.prod);
	memcpy(desc_ring_buffer(&e->tx, slot), frame, len);
	volatile struct tx_desc *d = &desc_at(&e->tx, slot)->tx;
	d->length = (uint16_t)len;
	d->cso = 0;
	d->css = 0;
	d->special = 0;
	d->status = 0;
	d->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	e->tx.prod++;
	write_barrier();
	wr(e, REG_TDT, desc_ring_slot(&e->tx, e->tx.prod));
	e->stats.tx_packets++;
	e->stats.tx_bytes += len;
	return FERR_OK;
}

static unsigned e1000_tx_free(struct nic *nic)
{
	struct e1000 *e = to_e1000(nic);

	reclaim_tx(e);
	return e->tx.size - 1 - desc_ring_in_flight(&e->tx);
}

#define HW_STATS_INTERVAL_MS 1000

/* The statistics registers clear on read and are 32 bits: fold them in now and then. */
static void collect_hw_stats(struct e1000 *e)
{
	e->stats.rx_missed += rd(e, REG_MPC) + rd(e, REG_RNBC);
	e->stats.rx_errors += rd(e, REG_CRCERRS) + rd(e, REG_SYMERRS) + rd(e, REG_RXERRC) +
			      rd(e, REG_RLEC) + rd(e, REG_RUC) + rd(e, REG_ROC);
	e->hw_stats_at_ms = clock_ms();
}

static unsigned e1000_poll(struct nic *nic, unsigned budget)
{
	struct e1000 *e = to_e1000(nic);
	unsigned taken = 0;

	while (taken < budget) {
		unsigned slot = desc_ring_slot(&e->rx, e->rx.cons);
		volatile struct rx_desc *d = &desc_at(&e->rx, slot)->rx;
		uint8_t status = d->status;
		if (!(status & RXD_STAT_DD))
			break;
		compiler_barrier();   /* read the descriptor's fields only after DD */
		uint16_t len = d->length;
		uint8_t errors = d->errors;
		const uint8_t *buf = desc_ring_buffer(&e->rx, slot);
		if (e->rx_discarding || !(status & RXD_STAT_EOP)) {
			/* Part of a frame longer than one buffer: Ferry takes no jumbo frames. */
			e->stats.rx_dropped += e->rx_discarding ? 0 : 1;
			e->rx_discarding = !(status & RXD_STAT_EOP);
		} else if (errors & RXD_ERR_FRAME) {
			e->stats.rx_errors++;
		} else if (len < NIC_MIN_FRAME || len > BUFFER_SIZE) {
			e->stats.rx_dropped++;
		} else {
			e->stats.rx_packets++;
			e->stats.rx_bytes += len;
			if (nic->rx)
				nic->rx(nic->rx_ctx, buf, len);
		}
		d->status = 0;
		e->rx.cons++;
		taken++;
	}
	if (taken) {
		desc_ring_fill(&e->rx);   /* the buffers just emptied go back to the device */
		write_barrier();
		wr(e, REG_RDT, desc_ring_slot(&e->rx, e->rx.prod));
	}
	reclaim_tx(e);
	if (clock_ms() - e->hw_stats_at_ms >= HW_STATS_INTERVAL_MS)
		collect_hw_stats(e);
	return taken;
}

static bool e1000_link_up(struct nic *nic)
{
	return rd(to_e1000(nic), REG_STATUS) & STATUS_LU;
}

static unsigned e1000_speed(struct nic *nic)
{
	uint32_t status = rd(to_e1000(nic), REG_STATUS);
	if (!(status & STATUS_LU))
		return 0;
	switch ((status >> STATUS_SPEED_SHIFT) & STATUS_SPEED_MASK) {
	case STATUS_SPEED_10:  return 10;
	case STATUS_SPEED_100: return 100;
	default:               return 1000;
	}
}

static void e1000_set_promiscuous(struct nic *nic, bool on)
{
	struct e1000 *e = to_e1000(nic);
	uint32_t rctl = rd(e, REG_RCTL);

	rctl = on ? rctl | RCTL_UPE | RCTL_MPE : rctl & ~(RCTL_UPE | RCTL_MPE);
	wr(e, REG_RCTL, rctl);
	if (on != e->promiscuous)
		klog_info("e1000: promiscuous mode %s", on ? "on" : "off");
	e->promiscuous = on;
}

static void e1000_get_stats(struct nic *nic, struct nic_stats *out)
{
	struct e1000 *e = to_e1000(nic);
	collect_hw_stats(e);
	*out = e->stats;
}

static const struct {
	uint16_t device;
	const char *model;
	bool eerd_82574;
} supported[] = {
	{ DEVICE_82540EM, "82540EM", false },
	{ DEVICE_82545EM, "82545EM", false },
	{ DEVICE_82574L,  "82574L",  true },
};

int e1000_probe(struct nic **out)
{
	struct e1000 *e = &adapter;
	const struct pci_device *pci = NULL;
	unsigned model = 0;

	for (unsigned i = 0; i < sizeof(supported) / sizeof(supported[0]) && !pci; i++) {
		pci = pci_find(PCI_VENDOR_INTEL, supported[i].device);
		model = i;
	}
	if (!pci)
		return FERR_NOENT;
	struct pci_bar bar;
	int err = pci_bar_read(pci, 0, &bar);
	if (err || bar.io) {
		klog_error("e1000: BAR0 is not a memory BAR");
		return FERR_IO;
	}
	err = paging_map_mmio(bar.base, bar.size);
	if (err)
		return err;
	memset(e, 0, sizeof(*e));
	e->pci = pci;
	e->regs = phys_to_ptr(bar.base);
	e->eerd_82574 = supported[model].eerd_82574;
	pci_enable_bus_master(pci);

	err = reset(e);
	if (err) {
		klog_error("e1000: the controller did not come out of reset");
		return err;
	}
	mem_owner_register(&nic_owner);
	err = alloc_rings(e);
	if (err) {
		klog_error("e1000: no memory for the descriptor rings");
		return err;
	}
	read_mac(e);
	start_rx(e);
	start_tx(e);
	collect_hw_stats(e);
	memset(&e->stats, 0, sizeof(e->stats));   /* counts start now */

	e->nic.model = supported[model].model;
	e->nic.send = e1000_send;
	e->nic.tx_free = e1000_tx_free;
	e->nic.poll = e1000_poll;
	e->nic.link_up = e1000_link_up;
	e->nic.speed_mbps = e1000_speed;
	e->nic.set_promiscuous = e1000_set_promiscuous;
	e->nic.get_stats = e1000_get_stats;
	klog_info("e1000: %s at %02x:%02x.%x, registers at %#llx, link %s", e->nic.model,
		  pci->bus, pci->dev, pci->fn, (unsigned long long)bar.base,
		  e1000_link_up(&e->nic) ? "up" : "down");
	*out = &e->nic;
	return FERR_OK;
}
