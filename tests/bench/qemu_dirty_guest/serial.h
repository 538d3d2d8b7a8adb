/* COM1 output for the dirty guest: 115200 8N1, polled, no input. */
#ifndef DIRTY_GUEST_SERIAL_H
#define DIRTY_GUEST_SERIAL_H

#include <stdint.h>

void serial_init(void);
void serial_puts(const char *text);
/* Decimal, no padding. */
void serial_put_u64(uint64_t value);

#endif
