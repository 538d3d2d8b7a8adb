/* lwIP's platform functions in Ferry; see lwip_port.h and arch/cc.h. */
#include "kernel/memory.h"      /* before lwIP's headers: see the mem_free note in lwipopts.h */
#include "net/lwip_port.h"
#include "net/lwip_heap.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "arch/x86/cpu.h"

#include "lwip/sys.h"

#include <stdarg.h>

static struct frame_owner lwip_owner = { .name = "lwip" };

int lwip_port_init(void)
{
	uint64_t phys;
	int err;

	mem_owner_register(&lwip_owner);
	err = mem_alloc(&lwip_owner, LWIP_PORT_HEAP_BYTES / FRAME_SIZE, 1, &phys);
	if (err)
		return err;
	lwip_heap_init(phys_to_ptr(phys), LWIP_PORT_HEAP_BYTES);
	return FERR_OK;
}

u32_t sys_now(void)
{
	return (u32_t)clock_ms();
}

void lwip_port_diag(const char *fmt, ...)
{
	char line[160];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	klog_info("lwip: %s", line);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
	panic("lwIP assertion failed: %s at %s:%d", msg, file, line);
}

/* xorshift64, seeded from the TSC: lwIP wants it for ports, ISNs and DHCP transaction IDs. */
uint32_t lwip_port_rand(void)
{
	static uint64_t state;

	if (!state)
		state = rdtsc() | 1;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (uint32_t)(state >> 16);
}

int lwip_port_atoi(const char *s)
{
	int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}
