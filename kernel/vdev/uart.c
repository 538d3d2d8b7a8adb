/* The guests' 16550 model; see uart.h. */
#include "kernel/vdev/uart.h"

#include <stdbool.h>
#include <string.h>

void vdev_uart_init(struct vdev_uart *u, vdev_uart_line_fn on_line, void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->on_line = on_line;
	u->ctx = ctx;
}

static void ring_put(struct vdev_uart *u, char c)
{
	u->ring[u->ring_total % VDEV_UART_RING_BYTES] = c;
	u->ring_total++;
}

static void flush_line(struct vdev_uart *u)
{
	if (u->on_line)
		u->on_line(u->ctx, u->line, u->line_len);
	u->line_len = 0;
}

static void transmit(struct vdev_uart *u, uint8_t c)
{
	u->bytes_out++;
	if (c == '\r')
		return;
	ring_put(u, (char)c);
	if (c == '\n') {
		flush_line(u);
		return;
	}
	/* Raw: whoever shows the line renders it (kernel/lib/guest_text.h), in one place. */
	u->line[u->line_len++] = (char)c;
	if (u->line_len == VDEV_UART_LINE_MAX)
		flush_line(u);
}

void vdev_uart_put(struct vdev_uart *u, uint8_t c)
{
	transmit(u, c);
}

void vdev_uart_write(struct vdev_uart *u, unsigned offset, uint8_t value)
{
	bool dlab = u->regs.lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_REG_DATA:
		if (dlab)
			u->regs.dll = value;
		else
			transmit(u, value);
		break;
	case UART_REG_IER:
		if (dlab)
			u->regs.dlm = value;
		else
			u->regs.ier = value & 0x0f;   /* bits 4-7 are reserved */
		break;
	case UART_REG_IIR:
		u->regs.fcr = value;
		break;
	case UART_REG_LCR:
		u->regs.lcr = value;
		break;
	case UART_REG_MCR:
		u->regs.mcr = value & 0x1f;
		break;
	case UART_REG_SCR:
		u->regs.scr = value;
		break;
	default:   /* LSR and MSR are read-only */
		break;
	}
}

uint8_t vdev_uart_read(struct vdev_uart *u, unsigned offset)
{
	bool dlab = u->regs.lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_REG_DATA:
		return dlab ? u->regs.dll : 0;   /* no input ever arrives */
	case UART_REG_IER:
		return dlab ? u->regs.dlm : u->regs.ier;
	case UART_REG_IIR:
		return UART_IIR_NO_INT | ((u->regs.fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO_ON : 0);
	case UART_REG_LCR:
		return u->regs.lcr;
	case UART_REG_MCR:
		return u->regs.mcr;
	case UART_REG_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_REG_MSR:
		return UART_MSR_CTS_DSR_DCD;
	case UART_REG_SCR:
		return u->regs.scr;
	default:
		return 0xff;
	}
}

size_t vdev_uart_recent(const struct vdev_uart *u, char *out, size_t max)
{
	uint64_t held = u->ring_total < VDEV_UART_RING_BYTES ? u->ring_total : VDEV_UART_RING_BYTES;
	if (held > max)
		held = max;
	uint64_t start = u->ring_total - held;
	for (uint64_t i = 0; i < held; i++)
		out[i] = u->ring[(start + i) % VDEV_UART_RING_BYTES];
	return (size_t)held;
}
