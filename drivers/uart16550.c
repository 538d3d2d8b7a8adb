/* Polled 16550 UART on COM1; see uart16550.h. Register names from the 16550D data sheet. */
#include "drivers/uart16550.h"
#include "arch/x86/cpu.h"

#define COM1_BASE 0x3f8

enum uart_register {
	UART_DATA = 0,        /* RBR/THR; divisor latch low when DLAB=1 */
	UART_IER = 1,         /* interrupt enable; divisor latch high when DLAB=1 */
	UART_FCR = 2,         /* FIFO control (write) */
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

#define UART_CLOCK_HZ    1843200
#define UART_BAUD        115200
#define UART_DIVISOR     (UART_CLOCK_HZ / 16 / UART_BAUD)

void uart_init(void)
{
	outb(COM1_BASE + UART_IER, 0);
	outb(COM1_BASE + UART_LCR, LCR_DLAB);
	outb(COM1_BASE + UART_DATA, UART_DIVISOR & 0xff);
	outb(COM1_BASE + UART_IER, UART_DIVISOR >> 8);
	outb(COM1_BASE + UART_LCR, LCR_8N1);
	outb(COM1_BASE + UART_FCR, FCR_ENABLE_FIFO | FCR_CLEAR_RX | FCR_CLEAR_TX);
	outb(COM1_BASE + UART_MCR, MCR_DTR | MCR_RTS);
}

void uart_putc(char c)
{
	while (!(inb(COM1_BASE + UART_LSR) & LSR_THR_EMPTY))
		cpu_relax();
	outb(COM1_BASE + UART_DATA, (uint8_t)c);
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
