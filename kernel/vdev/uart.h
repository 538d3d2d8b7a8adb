/*
 * The 16550 UART a guest sees at I/O port 0x3F8 (8 registers), emulated from
 * I/O exits. Output only: bytes written to THR are gathered into lines, handed
 * to a line callback (Ferry prints `[NAME] line`) and kept in a ring that
 * `console NAME` shows. Both hold the guest's bytes as written (CR dropped):
 * they are untrusted, and whoever shows them renders them for a terminal
 * (guest_text_render(), kernel/lib/guest_text.h). LSR always says the transmitter is empty; there is
 * never input; interrupts are never raised. The other registers hold what the
 * guest writes, so that a driver's probe (scratch register, divisor latch,
 * loopback-free MCR) finds a plausible 16550.
 *
 * Portable (image and host).
 */
#ifndef FERRY_VDEV_UART_H
#define FERRY_VDEV_UART_H

#include <stddef.h>
#include <stdint.h>

#define VDEV_UART_PORTS     8
#define VDEV_UART_LINE_MAX  160
#define VDEV_UART_RING_BYTES 8192

/* Register offsets from the base port (16550 data sheet; DLAB = LCR bit 7). */
#define UART_REG_DATA 0   /* THR/RBR, or DLL with DLAB */
#define UART_REG_IER  1   /* or DLM with DLAB */
#define UART_REG_IIR  2   /* read; FCR on write */
#define UART_REG_LCR  3
#define UART_REG_MCR  4
#define UART_REG_LSR  5
#define UART_REG_MSR  6
#define UART_REG_SCR  7

#define UART_LCR_DLAB      0x80
#define UART_LSR_THRE      0x20   /* transmit holding register empty */
#define UART_LSR_TEMT      0x40   /* transmitter empty */
#define UART_IIR_NO_INT    0x01
#define UART_IIR_FIFO_ON   0xc0
#define UART_FCR_ENABLE    0x01
#define UART_MSR_CTS_DSR_DCD 0xb0

typedef void (*vdev_uart_line_fn)(void *ctx, const char *line, size_t len);

/* The registers: what travels in a migration (with the unfinished line). */
struct vdev_uart_regs {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
};

struct vdev_uart {
	struct vdev_uart_regs regs;
	char line[VDEV_UART_LINE_MAX];
	uint32_t line_len;
	char ring[VDEV_UART_RING_BYTES];
	uint64_t ring_total;        /* bytes ever put in the ring */
	uint64_t bytes_out;         /* THR writes */
	vdev_uart_line_fn on_line;
	void *ctx;
};

void vdev_uart_init(struct vdev_uart *u, vdev_uart_line_fn on_line, void *ctx);

/* offset: 0..7 from the base port. */
void vdev_uart_write(struct vdev_uart *u, unsigned offset, uint8_t value);
uint8_t vdev_uart_read(struct vdev_uart *u, unsigned offset);

/* Sends one byte out as if written to THR (the print hypercall uses it). */
void vdev_uart_put(struct vdev_uart *u, uint8_t c);

/* Copies the ring's recent output (oldest first) into out; returns the length. */
size_t vdev_uart_recent(const struct vdev_uart *u, char *out, size_t max);

#endif
