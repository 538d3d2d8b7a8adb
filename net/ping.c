/* ICMP echo over lwIP's raw API; see ping.h. */
#include "net/ping.h"
#include "kernel/clock.h"
#include "kernel/lib/errors.h"

#include "lwip/inet_chksum.h"
#include "lwip/ip.h"
#include "lwip/pbuf.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/raw.h"

#include <string.h>

/* The identifier of Ferry's echoes: replies to anyone else's are not ours. */
#define PING_ID 0xfe44

_Static_assert(sizeof(struct icmp_echo_hdr) == PING_ICMP_HEADER_BYTES, "ICMP echo header size");

/* lwIP's raw receive callback: takes (returns 1 for) the reply to the echo in flight only. */
static u8_t on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
	struct ping *st = arg;
	struct icmp_echo_hdr echo;
	(void)pcb;

	if (ip_2_ip4(addr)->addr != st->target || p->tot_len < IP_HLEN + sizeof(echo))
		return 0;
	u16_t ihl = (u16_t)(IPH_HL_BYTES((struct ip_hdr *)p->payload));
	if (p->len < IP_HLEN || pbuf_copy_partial(p, &echo, sizeof(echo), ihl) != sizeof(echo))
		return 0;
	if (echo.type != ICMP_ER || echo.id != lwip_htons(PING_ID) ||
	    echo.seqno != lwip_htons(st->seq))
		return 0;
	st->rtt_us = clock_us() - st->sent_us;
	st->replied = true;
	pbuf_free(p);
	return 1;
}

int ping_start(struct ping *p, uint32_t host)
{
	memset(p, 0, sizeof(*p));
	p->target = lwip_htonl(host);
	p->pcb = raw_new(IP_PROTO_ICMP);
	if (!p->pcb)
		return FERR_NOMEM;
	raw_recv(p->pcb, on_recv, p);
	raw_bind(p->pcb, IP4_ADDR_ANY);
	return FERR_OK;
}

int ping_send(struct ping *p, uint16_t seq)
{
	p->seq = seq;
	struct pbuf *pb = pbuf_alloc(PBUF_IP, PING_ECHO_BYTES, PBUF_RAM);
	if (!pb)
		return FERR_NOMEM;
	struct icmp_echo_hdr *echo = pb->payload;
	ICMPH_TYPE_SET(echo, ICMP_ECHO);
	ICMPH_CODE_SET(echo, 0);
	echo->id = lwip_htons(PING_ID);
	echo->seqno = lwip_htons(seq);
	echo->chksum = 0;
	uint8_t *data = (uint8_t *)(echo + 1);
	for (unsigned i = 0; i < PING_DATA_BYTES; i++)
		data[i] = (uint8_t)i;
	echo->chksum = inet_chksum(echo, PING_ECHO_BYTES);
	ip_addr_t dest;
	ip_addr_set_ip4_u32_val(dest, p->target);
	p->replied = false;
	p->sent_us = clock_us();
	err_t err = raw_sendto(p->pcb, pb, &dest);
	pbuf_free(pb);
	return err == ERR_OK ? FERR_OK : FERR_IO;
}

void ping_stop(struct ping *p)
{
	if (p->pcb)
		raw_remove(p->pcb);
	p->pcb = NULL;
}
