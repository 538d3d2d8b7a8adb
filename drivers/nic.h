/*
 * The seam between a NIC driver and Ferry's network stack (net/net.c), in the
 * manner of BitVisor's struct nicfunc: a driver's probe fills in a struct nic and
 * starts the device; kernel_main hands it to net_init(), and the stack sets the
 * receive callback and drives everything by polling. Ferry takes no interrupts,
 * so nothing here runs asynchronously: poll() delivers received frames to rx()
 * from the caller's own stack.
 *
 * Frames are whole Ethernet frames without the FCS (the hardware adds and strips
 * it), at most NIC_MAX_FRAME bytes. Types only: portable.
 */
#ifndef FERRY_DRIVERS_NIC_H
#define FERRY_DRIVERS_NIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NIC_MAC_LEN   6
#define NIC_MIN_FRAME 14      /* an Ethernet header: shorter is not a frame */
#define NIC_MAX_FRAME 1514    /* header + 1500-byte payload, no VLAN tag */

struct nic_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_dropped;   /* received but not delivered (no EOP, descriptor errors) */
	uint64_t rx_missed;    /* the hardware found no free descriptor (MPC/RNBC) */
	uint64_t rx_errors;    /* CRC, symbol, length, undersize and oversize errors */
	uint64_t tx_dropped;   /* the send ring was full */
	uint64_t tx_errors;    /* refused frames (too short or too long) */
};

struct nic;
typedef void (*nic_rx_fn)(void *ctx, const uint8_t *frame, size_t len);

struct nic {
	const char *model;                 /* e.g. "82540EM" */
	uint8_t mac[NIC_MAC_LEN];
	/* Queues one frame; FERR_BUSY when the ring is full, FERR_INVAL for a bad length. */
	int (*send)(struct nic *nic, const void *frame, size_t len);
	/* Send slots free now (the ones the device has sent taken back first). */
	unsigned (*tx_free)(struct nic *nic);
	/* Delivers up to budget received frames to rx(); returns how many it took off the ring. */
	unsigned (*poll)(struct nic *nic, unsigned budget);
	bool (*link_up)(struct nic *nic);
	/* Link speed in Mbit/s (0 when down). */
	unsigned (*speed_mbps)(struct nic *nic);
	void (*set_promiscuous)(struct nic *nic, bool on);
	void (*get_stats)(struct nic *nic, struct nic_stats *out);
	nic_rx_fn rx;                      /* set by the stack */
	void *rx_ctx;
};

#endif
