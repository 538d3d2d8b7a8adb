/*
 * The 16550 UART on COM1 (I/O port 0x3F8), polled: Ferry's serial console.
 * 115200 baud, 8 data bits, no parity, 1 stop bit, FIFOs on, interrupts off.
 * A byte is written only when the line status register says the transmit
 * holding register is empty (emulators drop bytes written otherwise).
 */
#ifndef FERRY_DRIVERS_UART16550_H
#define FERRY_DRIVERS_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void uart_init(void);
void uart_putc(char c);
void uart_write(const char *s, size_t len);

/* Returns true and stores a byte when one has arrived. Never blocks. */
bool uart_try_getc(uint8_t *out);

#endif
