/* Host tests of the guests' 16550 model (kernel/vdev/uart.c). */
#include "check.h"
#include "kernel/vdev/uart.h"

#include <string.h>

static char lines[8][VDEV_UART_LINE_MAX + 1];
static int line_count;

static void collect(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	if (line_count < 8) {
		memcpy(lines[line_count], line, len);
		lines[line_count][len] = '\0';
	}
	line_count++;
}

static void send(struct vdev_uart *u, const char *s)
{
	while (*s)
		vdev_uart_write(u, UART_REG_DATA, (uint8_t)*s++);
}

static struct vdev_uart uart;

TEST(lines_are_collected)
{
	line_count = 0;
	vdev_uart_init(&uart, collect, NULL);
	send(&uart, "counter 1\r\ncounter 2\n");
	CHECK_EQ_I(line_count, 2);
	CHECK_STR(lines[0], "counter 1");
	CHECK_STR(lines[1], "counter 2");
	send(&uart, "partial");
	CHECK_EQ_I(line_count, 2);
	CHECK_EQ_U(uart.line_len, 7);
	send(&uart, "\x1b[2J\n");   /* raw: Ferry's console renders lines (guest_text) */
	CHECK_STR(lines[2], "partial\x1b[2J");
	CHECK_EQ_U(uart.bytes_out, 21 + 7 + 5);
}

TEST(long_lines_are_split)
{
	char big[VDEV_UART_LINE_MAX + 10];
	line_count = 0;
	vdev_uart_init(&uart, collect, NULL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	send(&uart, big);
	CHECK_EQ_I(line_count, 1);
	CHECK_EQ_U(strlen(lines[0]), VDEV_UART_LINE_MAX);
	CHECK_EQ_U(uart.line_len, 9);
}

TEST(registers_look_like_a_16550)
{
	vdev_uart_init(&uart, NULL, NULL);
	uint8_t lsr = vdev_uart_read(&uart, UART_REG_LSR);
	CHECK(lsr & UART_LSR_THRE);
	CHECK(lsr & UART_LSR_TEMT);
	CHECK(!(lsr & 1));   /* no data ready, ever */
	vdev_uart_write(&uart, UART_REG_SCR, 0x5a);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_SCR), 0x5a);
	vdev_uart_write(&uart, UART_REG_LCR, UART_LCR_DLAB | 3);
	vdev_uart_write(&uart, UART_REG_DATA, 1);      /* divisor low: 115200 baud */
	vdev_uart_write(&uart, UART_REG_IER, 0);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 1);
	CHECK_EQ_U(uart.bytes_out, 0);                 /* a divisor write is not output */
	vdev_uart_write(&uart, UART_REG_LCR, 3);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_LCR), 3);
	vdev_uart_write(&uart, UART_REG_IER, 0xff);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IER), 0x0f);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR) & UART_IIR_NO_INT, UART_IIR_NO_INT);
	vdev_uart_write(&uart, UART_REG_IIR, UART_FCR_ENABLE);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR), UART_IIR_NO_INT | UART_IIR_FIFO_ON);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 0);
	CHECK_EQ_U(vdev_uart_read(&uart, 9), 0xff);
}

TEST(ring_keeps_recent_output)
{
	static char out[VDEV_UART_RING_BYTES];
	vdev_uart_init(&uart, NULL, NULL);
	send(&uart, "hello\n");
	size_t n = vdev_uart_recent(&uart, out, sizeof(out));
	CHECK_EQ_U(n, 6);
	CHECK(memcmp(out, "hello\n", 6) == 0);
	for (int i = 0; i < 1000; i++)
		send(&uart, "0123456789\n");
	n = vdev_uart_recent(&uart, out, sizeof(out));
	CHECK_EQ_U(n, VDEV_UART_RING_BYTES);
	CHECK(memcmp(out + n - 11, "0123456789\n", 11) == 0);
	n = vdev_uart_recent(&uart, out, 4);
	CHECK_EQ_U(n, 4);
	CHECK(memcmp(out, "789\n", 4) == 0);
	vdev_uart_put(&uart, 'x');
	CHECK_EQ_U(uart.line_len, 1);
}

int main(void)
{
	return run_tests();
}
