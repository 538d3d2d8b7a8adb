/*
 * TCP streams over lwIP's raw API; the contract is in tcp_stream.h.
 *
 * Receive: lwIP hands pbuf chains to on_recv, which queues them; tcp_recved() is
 * called only as the reader consumes bytes, so the advertised window shrinks as
 * the queue grows and a fast sender is held to TCP_WND bytes of queue.
 * Errors: lwIP's err callback means the PCB is already gone (reset, abort,
 * retransmission timeout); the stream keeps the error and drops its PCB pointer.
 * A FIN from the peer is kept as "peer closed": queued data can still be read,
 * then reads fail with FERR_IO. Keepalive probes (below) turn a peer that vanished
 * during a quiet spell into an error too.
 */
#include "kernel/memory.h"      /* before lwIP's headers: see the mem_free note in lwipopts.h */
#include "net/tcp_stream.h"
#include "net/lwip_heap.h"
#include "net/tcp_isn.h"
#include "arch/x86/entropy.h"
#include "kernel/lib/errors.h"

#include "lwip/tcp.h"

#include <string.h>

#define RECVED_MAX_STEP 0xffffu       /* tcp_recved takes a u16 */
#define WRITE_MAX_STEP  0xffffu       /* tcp_write takes a u16 */

struct tcp_stream {
	struct tcp_pcb *pcb;          /* NULL once lwIP freed it or we let it go */
	struct pbuf *rx_queue;        /* received, not yet read */
	size_t rx_offset;             /* bytes of rx_queue's first pbuf already read */
	size_t rx_bytes;              /* bytes readable */
	int err;                      /* sticky */
	bool connected;
	bool peer_closed;
	unsigned connect_polls;       /* slow-timer polls spent connecting */
	uint32_t peer_ip;
	uint16_t peer_port;
	void *user;                   /* the layer above's (tcp_stream_set_user) */
};

struct tcp_listener {
	struct tcp_pcb *pcb;
	void (*on_accept)(struct tcp_stream *s, void *ctx);
	void *ctx;
};

/* The last PCB tcp_stream_close/abort aborted: an accept callback must report it to lwIP. */
static struct tcp_pcb *aborted_pcb;

static void set_error(struct tcp_stream *s, int err)
{
	if (!s->err)
		s->err = err;
}

static void free_queue(struct tcp_stream *s)
{
	if (s->rx_queue)
		pbuf_free(s->rx_queue);
	s->rx_queue = NULL;
	s->rx_bytes = 0;
	s->rx_offset = 0;
}

/* Detaches our callbacks from the PCB, so lwIP never calls back into a freed stream. */
static void unhook(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct tcp_stream *s = arg;
	(void)err;
	if (!s) {
		/* The stream was closed under lwIP's feet: consume and drop. */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return ERR_OK;
	}
	if (!p) {
		s->peer_closed = true;
		return ERR_OK;
	}
	if (s->rx_queue)
		pbuf_cat(s->rx_queue, p);
	else
		s->rx_queue = p;
	s->rx_bytes += p->tot_len;
	return ERR_OK;
}

static void on_error(void *arg, err_t err)
{
	struct tcp_stream *s = arg;
	if (!s)
		return;
	s->pcb = NULL;   /* lwIP has freed it */
	/* Before the handshake completed: a refusal (RST) is an I/O error, anything else a timeout. */
	set_error(s, !s->connected && err != ERR_RST ? FERR_TIMEOUT : FERR_IO);
	s->connected = false;
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tcp_stream *s = arg;
	(void)pcb;
	if (!s)
		return ERR_OK;
	if (err != ERR_OK) {
		set_error(s, FERR_IO);
		return err;
	}
	s->connected = true;
	return ERR_OK;
}

/* Connection attempts that never complete: lwIP retries SYNs for a long time; we stop sooner. */
#define CONNECT_POLL_INTERVAL 2          /* in units of the TCP slow timer (500 ms) */
#define CONNECT_POLLS_MAX     10         /* about 10 s */

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	struct tcp_stream *s = arg;
	if (!s || s->connected)
		return ERR_OK;
	if (++s->connect_polls > CONNECT_POLLS_MAX) {
		s->pcb = NULL;
		unhook(pcb);
		tcp_abort(pcb);
		set_error(s, FERR_TIMEOUT);
		return ERR_ABRT;
	}
	return ERR_OK;
}

/*
 * Keepalive probes find a peer that vanished while the stream is idle (a reader
 * waiting for data would otherwise wait forever): after 10 s of silence, a probe
 * every 2 s, and the connection fails (sticky FERR_IO) after 5 unanswered.
 */
#define KEEPALIVE_IDLE_MS     10000
#define KEEPALIVE_INTERVAL_MS 2000
#define KEEPALIVE_PROBES      5

static struct tcp_stream *stream_new(struct tcp_pcb *pcb)
{
	struct tcp_stream *s = lwip_heap_calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	ip_set_option(pcb, SOF_KEEPALIVE);
	pcb->keep_idle = KEEPALIVE_IDLE_MS;
	pcb->keep_intvl = KEEPALIVE_INTERVAL_MS;
	pcb->keep_cnt = KEEPALIVE_PROBES;
	s->pcb = pcb;
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_error);
	return s;
}

/* Tries to bind a random ephemeral port (RFC 6056, algorithm 1) before lwIP picks the next one. */
#define EPHEMERAL_TRIES 8

static void bind_random_port(struct tcp_pcb *pcb)
{
	for (unsigned i = 0; i < EPHEMERAL_TRIES; i++) {
		uint32_t r;
		if (entropy_random(&r, sizeof(r)))
			return;   /* lwIP's own choice, then */
		if (tcp_bind(pcb, IP4_ADDR_ANY, tcp_ephemeral_port(r)) == ERR_OK)
			return;
	}
}

int tcp_stream_connect(uint32_t ip, uint16_t port, struct tcp_stream **out)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb)
		return FERR_NOMEM;
	struct tcp_stream *s = stream_new(pcb);
	if (!s) {
		tcp_close(pcb);
		return FERR_NOMEM;
	}
	s->peer_ip = ip;
	s->peer_port = port;
	tcp_poll(pcb, on_poll, CONNECT_POLL_INTERVAL);
	bind_random_port(pcb);
	ip_addr_t addr;
	ip_addr_set_ip4_u32_val(addr, lwip_htonl(ip));
	err_t err = tcp_connect(pcb, &addr, port, on_connected);
	if (err != ERR_OK) {
		unhook(pcb);
		tcp_abort(pcb);
		lwip_heap_free(s);
		return err == ERR_MEM ? FERR_NOMEM : FERR_IO;
	}
	*out = s;
	return FERR_OK;
}

bool tcp_stream_connected(const struct tcp_stream *s)
{
	return s->connected && !s->err;
}

/* ---- listening -------------------------------------------------------------------------- */
static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tcp_listener *l = arg;
	if (err != ERR_OK || !pcb)
		return ERR_VAL;
	struct tcp_stream *s = stream_new(pcb);
	if (!s) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	s->connected = true;
	s->peer_ip = lwip_ntohl(ip_2_ip4(&pcb->remote_ip)->addr);
	s->peer_port = pcb->remote_port;
	/* The callback may refuse the stream at once; lwIP must then hear ERR_ABRT. */
	aborted_pcb = NULL;
	l->on_accept(s, l->ctx);
	return aborted_pcb == pcb ? ERR_ABRT : ERR_OK;
}

int tcp_listener_open(uint16_t port, void (*accept_fn)(struct tcp_stream *s, void *ctx),
		      void *ctx, struct tcp_listener **out)
{
	struct tcp_listener *l = lwip_heap_calloc(1, sizeof(*l));
	if (!l)
		return FERR_NOMEM;
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb) {
		lwip_heap_free(l);
		return FERR_NOMEM;
	}
	if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
		tcp_close(pcb);
		lwip_heap_free(l);
		return FERR_BUSY;
	}
	struct tcp_pcb *listen = tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
	if (!listen) {
		tcp_close(pcb);
		lwip_heap_free(l);
		return FERR_NOMEM;
	}
	l->pcb = listen;
	l->on_accept = accept_fn;
	l->ctx = ctx;
	tcp_arg(listen, l);
	tcp_accept(listen, on_accept);
	*out = l;
	return FERR_OK;
}

void tcp_listener_close(struct tcp_listener *l)
{
	if (!l)
		return;
	tcp_arg(l->pcb, NULL);
	tcp_accept(l->pcb, NULL);
	tcp_close(l->pcb);
	lwip_heap_free(l);
}

/* ---- data --------------------------------------------------------------------------------- */
size_t tcp_stream_writable(const struct tcp_stream *s)
{
	if (s->err || !s->pcb || !s->connected)
		return 0;
	if (tcp_sndqueuelen(s->pcb) >= TCP_SND_QUEUELEN - 2)
		return 0;
	return s->pcb->snd_buf;   /* tcp_sndbuf() clamps to 16 bits; the buffer is larger */
}

long tcp_stream_write(struct tcp_stream *s, const void *buf, size_t len)
{
	if (s->err)
		return s->err;
	if (!s->pcb)
		return FERR_IO;
	if (!s->connected)
		return 0;
	const uint8_t *p = buf;
	size_t queued = 0;
	while (queued < len) {
		size_t room = tcp_stream_writable(s);
		size_t step = len - queued;
		if (step > room)
			step = room;
		if (step > WRITE_MAX_STEP)
			step = WRITE_MAX_STEP;
		if (!step)
			break;
		u8_t flags = TCP_WRITE_FLAG_COPY | (queued + step < len ? TCP_WRITE_FLAG_MORE : 0);
		err_t err = tcp_write(s->pcb, p + queued, (u16_t)step, flags);
		if (err == ERR_MEM)
			break;
		if (err != ERR_OK) {
			set_error(s, FERR_IO);
			return queued ? (long)queued : FERR_IO;
		}
		queued += step;
	}
	if (queued)
		tcp_output(s->pcb);
	return (long)queued;
}

int tcp_stream_flush(struct tcp_stream *s)
{
	if (s->err)
		return s->err;
	if (!s->pcb)
		return FERR_IO;
	return tcp_output(s->pcb) == ERR_OK ? FERR_OK : FERR_IO;
}

size_t tcp_stream_unacked(const struct tcp_stream *s)
{
	if (!s->pcb)
		return 0;
	/* Bytes given to lwIP and not yet acknowledged: the send buffer's used part. */
	return TCP_SND_BUF - s->pcb->snd_buf;
}

long tcp_stream_read(struct tcp_stream *s, void *buf, size_t len)
{
	size_t copied = 0;
	uint8_t *out = buf;

	while (copied < len && s->rx_queue) {
		struct pbuf *head = s->rx_queue;
		size_t avail = head->len - s->rx_offset;
		size_t step = len - copied < avail ? len - copied : avail;
		memcpy(out + copied, (uint8_t *)head->payload + s->rx_offset, step);
		copied += step;
		s->rx_offset += step;
		if (s->rx_offset == head->len) {
			s->rx_queue = head->next;
			if (s->rx_queue)
				pbuf_ref(s->rx_queue);   /* the chain held it; now the queue does */
			pbuf_free(head);             /* frees head only: its ref to next was dropped above */
			s->rx_offset = 0;
		}
	}
	s->rx_bytes -= copied;
	if (copied && s->pcb) {
		for (size_t left = copied; left;) {
			size_t step = left > RECVED_MAX_STEP ? RECVED_MAX_STEP : left;
			tcp_recved(s->pcb, (u16_t)step);
			left -= step;
		}
	}
	if (copied)
		return (long)copied;
	if (s->err)
		return s->err;
	if (s->peer_closed || !s->pcb)
		return FERR_IO;
	return 0;
}

size_t tcp_stream_readable(const struct tcp_stream *s)
{
	return s->rx_bytes;
}

int tcp_stream_error(const struct tcp_stream *s)
{
	if (s->err)
		return s->err;
	if (s->peer_closed && !s->rx_bytes)
		return FERR_IO;
	return FERR_OK;
}

bool tcp_stream_peer_closed(const struct tcp_stream *s)
{
	return s->peer_closed && !s->err;
}

void tcp_stream_set_nodelay(struct tcp_stream *s)
{
	if (s->pcb)
		tcp_nagle_disable(s->pcb);
}

void tcp_stream_set_user(struct tcp_stream *s, void *user)
{
	s->user = user;
}

void *tcp_stream_user(const struct tcp_stream *s)
{
	return s->user;
}

void tcp_stream_peer(const struct tcp_stream *s, uint32_t *ip, uint16_t *port)
{
	*ip = s->peer_ip;
	*port = s->peer_port;
}

/* ---- teardown ------------------------------------------------------------------------------ */
void tcp_stream_close(struct tcp_stream *s)
{
	if (!s)
		return;
	/*
	 * Unread bytes count as read: lwIP answers a close with unread data by a reset
	 * (RFC 1122 4.2.2.13), which can make the peer drop our last words (a refusal).
	 */
	if (s->pcb)
		for (size_t left = s->rx_bytes; left;) {
			size_t step = left > RECVED_MAX_STEP ? RECVED_MAX_STEP : left;
			tcp_recved(s->pcb, (u16_t)step);
			left -= step;
		}
	free_queue(s);
	if (s->pcb) {
		struct tcp_pcb *pcb = s->pcb;
		unhook(pcb);
		/* Data still arriving after our close is acknowledged and dropped (on_recv, arg NULL). */
		tcp_recv(pcb, on_recv);
		if (tcp_close(pcb) != ERR_OK) {
			aborted_pcb = pcb;
			tcp_abort(pcb);
		}
	}
	lwip_heap_free(s);
}

void tcp_stream_abort(struct tcp_stream *s)
{
	if (!s)
		return;
	free_queue(s);
	if (s->pcb) {
		unhook(s->pcb);
		aborted_pcb = s->pcb;
		tcp_abort(s->pcb);
	}
	lwip_heap_free(s);
}

