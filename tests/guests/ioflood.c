/*
 * ioflood: writes and reads unknown I/O ports (0x80, 0x1234) in a tight loop;
 * every 100000 accesses prints `ioflood n=N ones=K` (K: reads that returned 0xff,
 * all ones). count=N stops after N accesses with `ioflood done n=N ones=K`.
 */
#include "guest_rt.h"

#define REPORT_EVERY 100000ul
#define PORT_POST 0x80
#define PORT_UNKNOWN 0x1234
#define ALL_ONES 0xff

void guest_main(void)
{
	unsigned long limit = (unsigned long)arg_u64("count", 0);
	unsigned long n = 0, ones = 0;
	static const uint16_t ports[] = { PORT_POST, PORT_UNKNOWN };

	for (;;) {
		for (unsigned i = 0; i < 2; i++) {
			outb(ports[i], (uint8_t)n);
			n++;
			if (n % REPORT_EVERY == 0)
				guest_printf("ioflood n=%lu ones=%lu\n", n, ones);
			ones += inb(ports[i]) == ALL_ONES;
			n++;
			if (n % REPORT_EVERY == 0)
				guest_printf("ioflood n=%lu ones=%lu\n", n, ones);
		}
		if (limit && n >= limit) {
			guest_printf("ioflood done n=%lu ones=%lu\n", n, ones);
			return;
		}
	}
}
