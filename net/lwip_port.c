/* lwIP's platform functions in Ferry; see lwip_port.h and arch/cc.h. */
#include "kernel/memory.h"      /* before lwIP's headers: see the mem_free note in lwipopts.h */
#include "net/lwip_port.h"
#include "net/lwip_heap.h"
#include "net/lwip_hooks.h"
#include "net/tcp_isn.h"
#include "arch/x86/entropy.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#include "lwip/sys.h"

#include <stdarg.h>
#include <stdbool.h>

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

/*
 * lwIP's random numbers (DHCP transaction IDs, its first local ports) from the
 * seeded generator. A host with no entropy source at all gets the TSC: nothing
 * lwIP draws here guards a secret (ISNs and Ferry's own ports are below).
 */
uint32_t lwip_port_rand(void)
{
	uint32_t v;

	if (entropy_random(&v, sizeof(v)))
		v = (uint32_t)clock_ns();
	return v;
}

/* RFC 6528 ISNs under a secret drawn once (net/tcp_isn.h); lwIP's hook. */
u32_t lwip_port_tcp_isn(const ip_addr_t *local_ip, u16_t local_port,
			const ip_addr_t *remote_ip, u16_t remote_port)
{
	static uint8_t secret[TCP_ISN_SECRET_BYTES];
	static bool have_secret;

	if (!have_secret)
		have_secret = entropy_random(secret, sizeof(secret)) == 0;
	if (!have_secret)
		klog_warn("tcp: no entropy for the ISN secret; this connection's ISN is guessable");
	return tcp_isn_compute(secret, lwip_ntohl(ip_2_ip4(local_ip)->addr), local_port,
			       lwip_ntohl(ip_2_ip4(remote_ip)->addr), remote_port, clock_ns());
}

int lwip_port_atoi(const char *s)
{
	int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}
