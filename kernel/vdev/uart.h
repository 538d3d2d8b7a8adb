/*
 * The 16550A UART a guest sees at I/O port 0x3F8 (8 registers), emulated from
 * I/O exits (register behaviour: the National Semiconductor PC16550D data sheet).
 *
 * Output: bytes written to THR are gathered into lines, handed to a line callback
 * (Ferry prints `[NAME] line`) and kept in a ring that `console NAME` shows. The
 * transmitter is infinitely fast: THR is empty again at once, so LSR always says THRE
 * and TEMT. Both hold the guest's bytes as written: they are untrusted, and whoever
 * shows them renders them for a terminal (guest_text_render(), kernel/lib/guest_text.h).
 *
 * Input: vdev_uart_receive() puts a byte into the 16-byte receive FIFO (what an
 * operator types at `console NAME`); LSR.DR says data is ready, RBR reads it. A byte
 * that finds the FIFO full is refused (the caller keeps it: nothing typed is lost),
 * never overrun.
 *
 * Interrupts (IER, IIR in priority order: receiver line status, received data,
 * transmitter empty; no modem-status events): an interrupt line that the integration
 * wires to an I/O APIC pin (IRQ 4 on a PC) through irq_fn. As on a PC the line is
 * gated by MCR.OUT2, which Linux's 8250 driver sets. THRE interrupts follow the chip:
 * raised when ETBEI is turned on or after a THR write, cleared by reading IIR when it
 * shows THRE (Linux's THRE test in serial8250_do_startup relies on both).
 *
 * FIFO control (FCR: enable, clear receive/transmit), the divisor latch (DLAB),
 * scratch and loopback (MCR.LOOP: MSR shows the MCR outputs, transmitted bytes are
 * received) hold what a driver's probe expects of a 16550A.
 *
 * The registers, the receive FIFO and the interrupt state (struct vdev_uart_regs) are
 * what migrates, with the unfinished line; vdev_uart_check_state() validates them.
 * Portable (image and host).
 */
#ifndef FERRY_VDEV_UART_H
#define FERRY_VDEV_UART_H

#include <stdbool.h>
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
#define UART_LSR_DR        0x01   /* data ready */
#define UART_LSR_OE        0x02   /* overrun error */
#define UART_LSR_THRE      0x20   /* transmit holding register empty */
#define UART_LSR_TEMT      0x40   /* transmitter empty */
#define UART_IER_ERBFI     0x01   /* received data available */
#define UART_IER_ETBEI     0x02   /* transmit holding register empty */
#define UART_IER_ELSI      0x04   /* receiver line status */
#define UART_IER_EDSSI     0x08   /* modem status */
#define UART_IER_WRITABLE  0x0f   /* bits 7:4 are reserved */
#define UART_IIR_NO_INT    0x01
#define UART_IIR_LINE_STATUS 0x06
#define UART_IIR_RX_DATA   0x04
#define UART_IIR_THRE      0x02
#define UART_IIR_FIFO_ON   0xc0
#define UART_FCR_ENABLE    0x01
#define UART_FCR_CLEAR_RX  0x02
#define UART_FCR_CLEAR_TX  0x04
#define UART_MCR_DTR       0x01
#define UART_MCR_RTS       0x02
#define UART_MCR_OUT1      0x04
#define UART_MCR_OUT2      0x08   /* gates the interrupt line on a PC */
#define UART_MCR_LOOP      0x10
#define UART_MCR_WRITABLE  0x1f   /* bits 7:5 are reserved */
#define UART_MSR_CTS       0x10
#define UART_MSR_DSR       0x20
#define UART_MSR_RI        0x40
#define UART_MSR_DCD       0x80
#define UART_MSR_CTS_DSR_DCD 0xb0
#define VDEV_UART_FIFO_BYTES 16

typedef void (*vdev_uart_line_fn)(void *ctx, const char *line, size_t len);
/* The interrupt line changed level (asserted or not). */
typedef void (*vdev_uart_irq_fn)(void *ctx, bool asserted);

/* The registers, the receive FIFO and the interrupt state: what travels in a migration
 * (with the unfinished line). */
struct vdev_uart_regs {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t lsr_errors;                   /* UART_LSR_OE until LSR is read */
	uint8_t thre_pending;                 /* a THRE interrupt waits (cleared by reading IIR) */
	uint8_t irq_asserted;                 /* the line's level, as last signalled */
	uint8_t rx_head, rx_count;            /* rx[rx_head] is the oldest byte */
	uint8_t rx[VDEV_UART_FIFO_BYTES];
};

struct vdev_uart {
	struct vdev_uart_regs regs;
	char line[VDEV_UART_LINE_MAX];
	uint32_t line_len;
	char ring[VDEV_UART_RING_BYTES];
	uint64_t ring_total;        /* bytes ever put in the ring */
	uint64_t line_start;        /* ring_total where the unfinished line began */
	uint64_t bytes_out;         /* THR writes */
	uint64_t bytes_in;          /* bytes received */
	vdev_uart_line_fn on_line;
	void *ctx;
	vdev_uart_irq_fn on_irq;    /* may be NULL: no interrupt line */
	void *irq_ctx;
};

void vdev_uart_init(struct vdev_uart *u, vdev_uart_line_fn on_line, void *ctx);
/* Wires the interrupt line (NULL: none); signals its level now. */
void vdev_uart_set_irq(struct vdev_uart *u, vdev_uart_irq_fn on_irq, void *ctx);

/* offset: 0..7 from the base port. */
void vdev_uart_write(struct vdev_uart *u, unsigned offset, uint8_t value);
uint8_t vdev_uart_read(struct vdev_uart *u, unsigned offset);

/* Sends one byte out as if written to THR (the print hypercall uses it). */
void vdev_uart_put(struct vdev_uart *u, uint8_t c);

/* A byte arrives on the line: into the receive FIFO, true; false when it is full (keep
 * the byte and try again later). */
bool vdev_uart_receive(struct vdev_uart *u, uint8_t c);
/* Room left in the receive FIFO. */
unsigned vdev_uart_rx_room(const struct vdev_uart *u);

/* Validates a state to be restored (registers, FIFO, line length): 0, or FERR_INVAL with a reason. */
int vdev_uart_check_state(const struct vdev_uart_regs *r, uint32_t line_len, const char **why);

/* Where in the ring the unfinished line began: a view that starts there (an attached
 * console) shows whole lines, as the line callback does. */
uint64_t vdev_uart_line_start(const struct vdev_uart *u);
/* Puts back a migrated unfinished line (length checked by vdev_uart_check_state()), in
 * the ring too, so that an attached console shows it whole. */
void vdev_uart_restore_line(struct vdev_uart *u, const char *line, uint32_t len);

/* Copies the ring's recent output (oldest first) into out, up to where the unfinished
 * line began (an attached view shows that one whole); returns the length. */
size_t vdev_uart_recent(const struct vdev_uart *u, char *out, size_t max);

#endif
