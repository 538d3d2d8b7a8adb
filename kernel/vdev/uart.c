/* The guests' 16550A model; see uart.h. */
#include "kernel/vdev/uart.h"
#include "kernel/lib/errors.h"

#include <string.h>

#define LSR_ALWAYS (UART_LSR_THRE | UART_LSR_TEMT)   /* the transmitter is always idle */

void vdev_uart_init(struct vdev_uart *u, vdev_uart_line_fn on_line, void *ctx)
{
	memset(u, 0, sizeof(*u));
	u->on_line = on_line;
	u->ctx = ctx;
}

/* ---- interrupts ------------------------------------------------------------------------ */

/* The highest-priority interrupt pending (IIR bits 3:0), or UART_IIR_NO_INT. */
static uint8_t pending_interrupt(const struct vdev_uart *u)
{
	const struct vdev_uart_regs *r = &u->regs;

	if ((r->ier & UART_IER_ELSI) && r->lsr_errors)
		return UART_IIR_LINE_STATUS;
	if ((r->ier & UART_IER_ERBFI) && r->rx_count)
		return UART_IIR_RX_DATA;
	if ((r->ier & UART_IER_ETBEI) && r->thre_pending)
		return UART_IIR_THRE;
	return UART_IIR_NO_INT;
}

/* Recomputes the interrupt line (gated by OUT2, as on a PC) and signals a change. */
static void update_irq(struct vdev_uart *u)
{
	struct vdev_uart_regs *r = &u->regs;
	bool level = (r->mcr & UART_MCR_OUT2) && !(r->mcr & UART_MCR_LOOP) &&
		     pending_interrupt(u) != UART_IIR_NO_INT;

	if (level == (bool)r->irq_asserted)
		return;
	r->irq_asserted = level;
	if (u->on_irq)
		u->on_irq(u->irq_ctx, level);
}

void vdev_uart_set_irq(struct vdev_uart *u, vdev_uart_irq_fn on_irq, void *ctx)
{
	u->on_irq = on_irq;
	u->irq_ctx = ctx;
	if (on_irq)
		on_irq(ctx, u->regs.irq_asserted);
}

/* ---- output ---------------------------------------------------------------------------- */

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
	u->line_start = u->ring_total;
}

static void transmit(struct vdev_uart *u, uint8_t c)
{
	u->bytes_out++;
	ring_put(u, (char)c);   /* raw, CR included: whoever shows it renders it (kernel/lib/guest_text.h) */
	if (c == '\r')
		return;
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

uint64_t vdev_uart_line_start(const struct vdev_uart *u)
{
	return u->line_start;
}

void vdev_uart_restore_line(struct vdev_uart *u, const char *line, uint32_t len)
{
	u->line_start = u->ring_total;
	for (uint32_t i = 0; i < len; i++)
		ring_put(u, line[i]);
	memcpy(u->line, line, len);
	u->line_len = len;
}

/* ---- input ----------------------------------------------------------------------------- */

static bool fifo_push(struct vdev_uart_regs *r, uint8_t c)
{
	if (r->rx_count == VDEV_UART_FIFO_BYTES)
		return false;
	r->rx[(r->rx_head + r->rx_count) % VDEV_UART_FIFO_BYTES] = c;
	r->rx_count++;
	return true;
}

static uint8_t fifo_pop(struct vdev_uart_regs *r)
{
	if (!r->rx_count)
		return 0;
	uint8_t c = r->rx[r->rx_head];
	r->rx_head = (uint8_t)((r->rx_head + 1) % VDEV_UART_FIFO_BYTES);
	r->rx_count--;
	return c;
}

bool vdev_uart_receive(struct vdev_uart *u, uint8_t c)
{
	if (!fifo_push(&u->regs, c))
		return false;
	u->bytes_in++;
	update_irq(u);
	return true;
}

unsigned vdev_uart_rx_room(const struct vdev_uart *u)
{
	return VDEV_UART_FIFO_BYTES - u->regs.rx_count;
}

/* ---- registers ------------------------------------------------------------------------- */

static void write_thr(struct vdev_uart *u, uint8_t value)
{
	struct vdev_uart_regs *r = &u->regs;

	if (r->mcr & UART_MCR_LOOP) {
		if (!fifo_push(r, value))
			r->lsr_errors |= UART_LSR_OE;   /* loopback has no one to hold the byte */
	} else {
		transmit(u, value);
	}
	r->thre_pending = 1;   /* sent at once: THR is empty again */
}

static void write_fcr(struct vdev_uart_regs *r, uint8_t value)
{
	if (value & UART_FCR_CLEAR_RX)
		r->rx_head = r->rx_count = 0;
	/* Clearing the transmit FIFO has nothing to clear. Both bits clear themselves. */
	r->fcr = value & (uint8_t)~(UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
}

void vdev_uart_write(struct vdev_uart *u, unsigned offset, uint8_t value)
{
	struct vdev_uart_regs *r = &u->regs;
	bool dlab = r->lcr & UART_LCR_DLAB;

	switch (offset) {
	case UART_REG_DATA:
		if (dlab)
			r->dll = value;
		else
			write_thr(u, value);
		break;
	case UART_REG_IER:
		if (dlab) {
			r->dlm = value;
		} else {
			/* Turning ETBEI on with THR empty raises THRE (the chip does; Linux tests it). */
			if ((value & UART_IER_ETBEI) && !(r->ier & UART_IER_ETBEI))
				r->thre_pending = 1;
			r->ier = value & UART_IER_WRITABLE;
		}
		break;
	case UART_REG_IIR:
		write_fcr(r, value);
		break;
	case UART_REG_LCR:
		r->lcr = value;
		break;
	case UART_REG_MCR:
		r->mcr = value & UART_MCR_WRITABLE;
		break;
	case UART_REG_SCR:
		r->scr = value;
		break;
	default:   /* LSR and MSR are read-only */
		break;
	}
	update_irq(u);
}

/* MSR: the modem lines, or in loopback the MCR outputs (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static uint8_t modem_status(const struct vdev_uart_regs *r)
{
	if (!(r->mcr & UART_MCR_LOOP))
		return UART_MSR_CTS_DSR_DCD;
	return (uint8_t)((r->mcr & UART_MCR_DTR ? UART_MSR_DSR : 0) | (r->mcr & UART_MCR_RTS ? UART_MSR_CTS : 0) |
			 (r->mcr & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (r->mcr & UART_MCR_OUT2 ? UART_MSR_DCD : 0));
}

static uint8_t read_iir(struct vdev_uart *u)
{
	uint8_t id = pending_interrupt(u);

	if (id == UART_IIR_THRE)
		u->regs.thre_pending = 0;   /* reading IIR acknowledges THRE */
	return id | ((u->regs.fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO_ON : 0);
}

static uint8_t read_lsr(struct vdev_uart_regs *r)
{
	uint8_t lsr = LSR_ALWAYS | r->lsr_errors | (r->rx_count ? UART_LSR_DR : 0);

	r->lsr_errors = 0;   /* error bits clear when LSR is read */
	return lsr;
}

uint8_t vdev_uart_read(struct vdev_uart *u, unsigned offset)
{
	struct vdev_uart_regs *r = &u->regs;
	bool dlab = r->lcr & UART_LCR_DLAB;
	uint8_t value;

	switch (offset) {
	case UART_REG_DATA:
		value = dlab ? r->dll : fifo_pop(r);
		break;
	case UART_REG_IER:
		value = dlab ? r->dlm : r->ier;
		break;
	case UART_REG_IIR:
		value = read_iir(u);
		break;
	case UART_REG_LCR:
		value = r->lcr;
		break;
	case UART_REG_MCR:
		value = r->mcr;
		break;
	case UART_REG_LSR:
		value = read_lsr(r);
		break;
	case UART_REG_MSR:
		value = modem_status(r);
		break;
	case UART_REG_SCR:
		value = r->scr;
		break;
	default:
		return 0xff;
	}
	update_irq(u);
	return value;
}

size_t vdev_uart_recent(const struct vdev_uart *u, char *out, size_t max)
{
	uint64_t end = u->line_start;   /* the unfinished line is the live view's (vm_console_position) */
	uint64_t oldest = u->ring_total > VDEV_UART_RING_BYTES ? u->ring_total - VDEV_UART_RING_BYTES : 0;
	uint64_t held = end > oldest ? end - oldest : 0;   /* CRs alone can push the line's start out */
	if (held > max)
		held = max;
	uint64_t start = end - held;
	for (uint64_t i = 0; i < held; i++)
		out[i] = u->ring[(start + i) % VDEV_UART_RING_BYTES];
	return (size_t)held;
}

int vdev_uart_check_state(const struct vdev_uart_regs *r, uint32_t line_len, const char **why)
{
	if (line_len >= VDEV_UART_LINE_MAX) {
		*why = "UART line length out of range";
		return FERR_INVAL;
	}
	if (r->ier & ~UART_IER_WRITABLE || r->mcr & ~UART_MCR_WRITABLE ||
	    r->fcr & (UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX)) {
		*why = "UART registers set reserved bits";
		return FERR_INVAL;
	}
	if (r->lsr_errors & ~UART_LSR_OE || r->thre_pending > 1 || r->irq_asserted > 1) {
		*why = "UART interrupt state out of range";
		return FERR_INVAL;
	}
	if (r->rx_head >= VDEV_UART_FIFO_BYTES || r->rx_count > VDEV_UART_FIFO_BYTES) {
		*why = "UART receive FIFO out of range";
		return FERR_INVAL;
	}
	return FERR_OK;
}
