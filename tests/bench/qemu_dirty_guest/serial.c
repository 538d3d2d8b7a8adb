/* COM1 output for the dirty guest (16550 registers, polled). */
#include "serial.h"
#include "port_io.h"

#define COM1_BASE        0x3F8
#define UART_DATA        (COM1_BASE + 0)
#define UART_IER         (COM1_BASE + 1)
#define UART_DIVISOR_LO  (COM1_BASE + 0)
#define UART_DIVISOR_HI  (COM1_BASE + 1)
#define UART_FCR         (COM1_BASE + 2)
#define UART_LCR         (COM1_BASE + 3)
#define UART_MCR         (COM1_BASE + 4)
#define UART_LSR         (COM1_BASE + 5)

#define LCR_8N1          0x03
#define LCR_DLAB         0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_THR_EMPTY    0x20
#define DIVISOR_115200   1

void serial_init(void)
{
	outb(UART_IER, 0);
	outb(UART_LCR, LCR_DLAB);
	outb(UART_DIVISOR_LO, DIVISOR_115200);
	outb(UART_DIVISOR_HI, 0);
	outb(UART_LCR, LCR_8N1);
	outb(UART_FCR, FCR_ENABLE_CLEAR);
	outb(UART_MCR, MCR_DTR_RTS_OUT2);
}

static void serial_putc(char c)
{
	while (!(inb(UART_LSR) & LSR_THR_EMPTY))
		;
	outb(UART_DATA, (uint8_t)c);
}

void serial_puts(const char *text)
{
	for (; *text; text++) {
		if (*text == '\n')
			serial_putc('\r');
		serial_putc(*text);
	}
}

void serial_put_u64(uint64_t value)
{
	char digits[21];
	int n = 0;
	/* Repeated subtraction of powers of ten: 64-bit division would need libgcc. */
	static const uint64_t powers[] = {
		10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
		10000000000000000ull, 1000000000000000ull, 100000000000000ull,
		10000000000000ull, 1000000000000ull, 100000000000ull, 10000000000ull,
		1000000000ull, 100000000ull, 10000000ull, 1000000ull, 100000ull,
		10000ull, 1000ull, 100ull, 10ull, 1ull,
	};
	for (unsigned i = 0; i < sizeof(powers) / sizeof(powers[0]); i++) {
		char digit = '0';
		while (value >= powers[i]) {
			value -= powers[i];
			digit++;
		}
		if (digit != '0' || n > 0 || powers[i] == 1)
			digits[n++] = digit;
	}
	digits[n] = '\0';
	serial_puts(digits);
}
