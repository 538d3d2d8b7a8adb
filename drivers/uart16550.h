/*
 * The 16550 UART on COM1 (I/O port 0x3F8), polled: Ferry's serial console.
 * 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on, interrupts off.
 * Bytes are written only when the line status register says the transmitter
 * can take them (emulators drop bytes written otherwise): once THRE says the
 * holding register (with FIFOs, the whole transmit FIFO) is empty, as many bytes
 * as it holds, 16 on a 16550A, 1 on a UART without working FIFOs (IIR bits 7:6
 * read back after enabling them say which, 16550D data sheet).
 */
#ifndef FERRY_DRIVERS_UART16550_H
#define FERRY_DRIVERS_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void uart_init(void);
void uart_putc(char c);
/* Writes c if the transmitter can take it now (true); false when it is busy. Never waits. */
bool uart_try_putc(char c);
void uart_write(const char *s, size_t len);

/* Returns true and stores a byte when one has arrived. Never blocks. */
bool uart_try_getc(uint8_t *out);

#endif
