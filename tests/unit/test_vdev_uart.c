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
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR), UART_IIR_THRE);   /* ETBEI on, THR empty */
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
	/* CRs go to the ring but not the line: they can push its start out of the ring. */
	for (int i = 0; i < VDEV_UART_RING_BYTES + 10; i++)
		vdev_uart_put(&uart, '\r');
	CHECK_EQ_U(vdev_uart_recent(&uart, out, sizeof(out)), 0);
}

/* An attached console starts where the unfinished line began, so it shows whole lines;
 * a migrated unfinished line is in the ring again on the destination. */
TEST(line_start_marks_the_unfinished_line)
{
	static char out[VDEV_UART_RING_BYTES];
	vdev_uart_init(&uart, NULL, NULL);
	send(&uart, "one\r\ntw");
	CHECK_EQ_U(vdev_uart_line_start(&uart), 5);
	send(&uart, "o\n");
	CHECK_EQ_U(vdev_uart_line_start(&uart), uart.ring_total);

	struct vdev_uart dest;
	vdev_uart_init(&dest, NULL, NULL);
	send(&dest, "booted\n");
	vdev_uart_restore_line(&dest, "counter 9 12.", 13);
	CHECK_EQ_U(vdev_uart_line_start(&dest), 7);
	CHECK_EQ_U(dest.line_len, 13);
	send(&dest, "34");
	/* The recent output stops where the unfinished line began: it is the live view's. */
	size_t n = vdev_uart_recent(&dest, out, sizeof(out));
	CHECK_EQ_U(n, 7);
	CHECK(memcmp(out, "booted\n", 7) == 0);
	CHECK_EQ_U(dest.ring_total - vdev_uart_line_start(&dest), 15);
	CHECK(memcmp(dest.ring + vdev_uart_line_start(&dest), "counter 9 12.34", 15) == 0);
	send(&dest, "\n");
	CHECK_EQ_U(vdev_uart_recent(&dest, out, sizeof(out)), 7 + 16);
}

/* ---- interrupts, input, loopback, validation -------------------------------------- */

static int irq_changes;
static bool irq_level;

static void irq(void *ctx, bool asserted)
{
	(void)ctx;
	irq_changes++;
	irq_level = asserted;
}

static void fresh_with_irq(void)
{
	vdev_uart_init(&uart, NULL, NULL);
	irq_changes = 0;
	vdev_uart_set_irq(&uart, irq, NULL);
	CHECK(!irq_level);
}

TEST(thre_interrupt_follows_the_chip_as_linux_tests_it)
{
	fresh_with_irq();
	vdev_uart_write(&uart, UART_REG_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	/* serial8250_do_startup: THRI on, IIR shows THRE; off and on again, it shows again. */
	vdev_uart_write(&uart, UART_REG_IER, UART_IER_ETBEI);
	CHECK(irq_level);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR) & 0x0f, UART_IIR_THRE);
	CHECK(!irq_level);   /* reading IIR acknowledged it */
	vdev_uart_write(&uart, UART_REG_IER, 0);
	vdev_uart_write(&uart, UART_REG_IER, UART_IER_ETBEI);
	CHECK(irq_level);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR) & 0x0f, UART_IIR_THRE);
	/* A THR write: sent at once, THRE again. */
	vdev_uart_write(&uart, UART_REG_DATA, 'a');
	CHECK(irq_level);
	vdev_uart_write(&uart, UART_REG_IER, 0);
	CHECK(!irq_level);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR) & 0x0f, UART_IIR_NO_INT);
}

TEST(out2_gates_the_line)
{
	fresh_with_irq();
	vdev_uart_write(&uart, UART_REG_IER, UART_IER_ETBEI);
	CHECK(!irq_level);   /* pending, but OUT2 is off */
	vdev_uart_write(&uart, UART_REG_MCR, UART_MCR_OUT2);
	CHECK(irq_level);
	vdev_uart_write(&uart, UART_REG_MCR, 0);
	CHECK(!irq_level);
}

TEST(received_bytes_raise_data_ready_and_the_interrupt)
{
	fresh_with_irq();
	vdev_uart_write(&uart, UART_REG_MCR, UART_MCR_OUT2);
	vdev_uart_write(&uart, UART_REG_IER, UART_IER_ERBFI);
	CHECK(!(vdev_uart_read(&uart, UART_REG_LSR) & UART_LSR_DR));
	CHECK(vdev_uart_receive(&uart, 'x'));
	CHECK(vdev_uart_receive(&uart, 'y'));
	CHECK(irq_level);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_IIR) & 0x0f, UART_IIR_RX_DATA);
	CHECK(vdev_uart_read(&uart, UART_REG_LSR) & UART_LSR_DR);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 'x');
	CHECK(irq_level);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 'y');
	CHECK(!irq_level);
	CHECK(!(vdev_uart_read(&uart, UART_REG_LSR) & UART_LSR_DR));
	CHECK_EQ_U(uart.bytes_in, 2);
}

TEST(a_full_fifo_refuses_without_losing)
{
	fresh_with_irq();
	for (unsigned i = 0; i < VDEV_UART_FIFO_BYTES; i++)
		CHECK(vdev_uart_receive(&uart, (uint8_t)('a' + i)));
	CHECK_EQ_U(vdev_uart_rx_room(&uart), 0);
	CHECK(!vdev_uart_receive(&uart, '!'));
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 'a');
	CHECK(vdev_uart_receive(&uart, '!'));
	for (unsigned i = 1; i < VDEV_UART_FIFO_BYTES; i++)
		CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 'a' + i);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), '!');
	CHECK(!(vdev_uart_read(&uart, UART_REG_LSR) & UART_LSR_OE));
	/* FCR's clear-receive empties it, and the bit clears itself. */
	CHECK(vdev_uart_receive(&uart, 'z'));
	vdev_uart_write(&uart, UART_REG_IIR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	CHECK(!(vdev_uart_read(&uart, UART_REG_LSR) & UART_LSR_DR));
	CHECK_EQ_U(uart.regs.fcr, UART_FCR_ENABLE);
}

TEST(loopback_shows_mcr_in_msr_as_linux_probes_it)
{
	fresh_with_irq();
	/* autoconfig(): MCR = LOOP | OUT2 | RTS reads MSR & 0xF0 as DCD | CTS. */
	vdev_uart_write(&uart, UART_REG_MCR, UART_MCR_LOOP | 0x0a);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	vdev_uart_write(&uart, UART_REG_DATA, 'q');   /* received, not transmitted */
	CHECK_EQ_U(uart.bytes_out, 0);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_DATA), 'q');
	vdev_uart_write(&uart, UART_REG_MCR, 0);
	CHECK_EQ_U(vdev_uart_read(&uart, UART_REG_MSR), UART_MSR_CTS_DSR_DCD);
}

TEST(state_validation)
{
	const char *why = NULL;
	struct vdev_uart_regs r;

	memset(&r, 0, sizeof(r));
	CHECK_EQ_I(vdev_uart_check_state(&r, 0, &why), 0);
	CHECK(vdev_uart_check_state(&r, VDEV_UART_LINE_MAX, &why) != 0);
	r.ier = 0x10;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
	r.ier = 0;
	r.mcr = 0x20;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
	r.mcr = 0;
	r.rx_count = VDEV_UART_FIFO_BYTES + 1;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
	r.rx_count = 0;
	r.rx_head = VDEV_UART_FIFO_BYTES;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
	r.rx_head = 0;
	r.thre_pending = 2;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
	r.thre_pending = 0;
	r.lsr_errors = UART_LSR_DR;
	CHECK(vdev_uart_check_state(&r, 0, &why) != 0);
}

int main(void)
{
	return run_tests();
}
