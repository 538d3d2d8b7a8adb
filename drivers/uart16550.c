/* Polled 16550 UART on COM1; see uart16550.h. Register names from the 16550D data sheet. */
#include "drivers/uart16550.h"
#include "arch/x86/cpu.h"

#define COM1_BASE 0x3f8

enum uart_register {
	UART_DATA = 0,        /* RBR/THR; divisor latch low when DLAB=1 */
	UART_IER = 1,         /* interrupt enable; divisor latch high when DLAB=1 */
	UART_FCR = 2,         /* FIFO control (write); interrupt identification (read) */
	UART_LCR = 3,         /* line control */
	UART_MCR = 4,         /* modem control */
	UART_LSR = 5,         /* line status */
};

#define LCR_8N1          0x03
#define LCR_DLAB         0x80
#define FCR_ENABLE_FIFO  0x01
#define FCR_CLEAR_RX     0x02
#define FCR_CLEAR_TX     0x04
#define MCR_DTR          0x01
#define MCR_RTS          0x02
#define LSR_DATA_READY   0x01
#define LSR_THR_EMPTY    0x20
#define IIR_FIFOS_ON     0xc0   /* both bits set: FIFOs enabled and working (16550A and later) */
#define FIFO_DEPTH       16

#define UART_CLOCK_HZ    1843200
#define UART_BAUD        115200
#define UART_DIVISOR     (UART_CLOCK_HZ / 16 / UART_BAUD)

static unsigned tx_depth = 1;   /* bytes the transmitter takes once THRE is set */
static unsigned tx_room;        /* bytes it can still take since THRE was last seen */

void uart_init(void)
{
	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, LCR_DLAB);
	outb(COM1_BASE + UART_DATA, UART_DIVISOR & 0xff);
	outb(COM1_BASE + UART_IER, UART_DIVISOR >> 8);
	outb(COM1_BASE + UART_LCR, LCR_8N1);
	outb(COM1_BASE + UART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RX | FCR_CLEAR_TX);
	outb(COM1_BASE + UART_MCR, MCR_DTR | MCR_RTS);
	tx_depth = (inb(COM1_BASE + UART_FCR) & IIR_FIFOS_ON) == IIR_FIFOS_ON ? FIFO_DEPTH : 1;
	tx_room = 0;
}

bool uart_try_putc(char c)
{
	if (!tx_room) {
		if (!(inb(COM1_BASE + UART_LSR) & LSR_THR_EMPTY))
			return false;
		tx_room = tx_depth;
	}
	outb(COM1_BASE + UART_DATA, (uint8_t)c);
	tx_room--;
	return true;
}

void uart_putc(char c)
{
	while (!uart_try_putc(c))
		cpu_relax();
}

void uart_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		uart_putc(s[i]);
}

bool uart_try_getc(uint8_t *out)
{
	if (!(inb(COM1_BASE + UART_LSR) & LSR_DATA_READY))
		return false;
	*out = inb(COM1_BASE + UART_DATA);
	return true;
}
