/*
 * lwIP 2.1.3 configuration for Ferry: NO_SYS (no threads; everything runs from
 * Ferry's network poller), raw API only, IPv4 with ARP, ICMP, UDP, TCP and DHCP.
 *
 * Memory: every lwIP allocation (heap and pools alike, MEMP_MEM_MALLOC) comes
 * from net/lwip_heap.c, a buddy allocator over frames owned by "lwip", so that
 * the image carries no large static pools and `mem` shows what the stack holds.
 * The heap's size is the hard bound on what traffic can make lwIP keep, and each
 * pool's MEMP_NUM_* (below, or opt.h's default) is a real bound within it:
 * net/lwip_pools.c refuses an element past it (lwIP ignores them under
 * MEMP_MEM_MALLOC).
 *
 * TCP is sized for bulk transfers (live migration, netbench) on a gigabit link:
 * MSS 1460, window scaling so that windows and the send buffer can exceed
 * 64 KiB, a 1 MiB send buffer and a 512 KiB receive window. opt.h and init.c
 * check the relations between these (queue length >= 2 x SND_BUF/MSS, etc).
 */
#ifndef FERRY_LWIPOPTS_H
#define FERRY_LWIPOPTS_H

#include <stddef.h>

/* ---- system ---------------------------------------------------------------------- */
#define NO_SYS                 1
#define SYS_LIGHTWEIGHT_PROT   0      /* one CPU, no interrupts: nothing to protect against */
#define LWIP_TIMERS            1
#define LWIP_SOCKET            0
#define LWIP_NETCONN           0
#define LWIP_ALTCP             0

/* ---- memory: all of it from net/lwip_heap.c -------------------------------------- */
void *lwip_heap_malloc(size_t size);
void *lwip_heap_calloc(size_t count, size_t size);
void lwip_heap_free(void *p);
#define MEM_LIBC_MALLOC        1
/*
 * lwIP's mem_free would clash with Ferry's frame-level mem_free (kernel/memory.h):
 * lwIP's is renamed. A Ferry file that needs both includes kernel/memory.h first
 * and frees lwIP memory with lwip_heap_free.
 */
#define mem_free               lwip_mem_free
#define mem_clib_malloc        lwip_heap_malloc
#define mem_clib_calloc        lwip_heap_calloc
#define mem_clib_free          lwip_heap_free
#define MEMP_MEM_MALLOC        1
#define MEM_ALIGNMENT          8
#define MEM_SIZE               (16 * 1024 * 1024)   /* informative: the heap's size (net/lwip_port.c) */

/*
 * MEMCPY and SMEMCPY (pbuf_take, tcp_write's copy, ...) keep lwIP's default, memcpy:
 * in the image that is REP MOVSQ (arch/x86/memops.c).
 */
#define LWIP_CHKSUM_ALGORITHM  3      /* 32 bits per step */

/*
 * Hooks (net/lwip_hooks.h, net/lwip_port.c): initial sequence numbers keyed per
 * RFC 6528 instead of lwIP's counter. Ephemeral ports are drawn at random per
 * connection by net/tcp_stream.c (RFC 6056's first algorithm); LWIP_RAND (arch/cc.h)
 * comes from the seeded generator of arch/x86/entropy.h.
 */
#define LWIP_HOOK_FILENAME     "net/lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN      lwip_port_tcp_isn

/* ---- protocols --------------------------------------------------------------------- */
#define LWIP_IPV4              1
#define LWIP_IPV6              0
#define LWIP_ARP               1
#define LWIP_ETHERNET          1
#define LWIP_ICMP              1
#define LWIP_RAW               1      /* ping's echo requests and replies */
#define LWIP_UDP               1
#define LWIP_TCP               1
#define LWIP_DHCP              1
#define DHCP_DOES_ARP_CHECK    0      /* a lab has no address conflicts; saves seconds */
#define LWIP_AUTOIP            0
#define LWIP_IGMP              0
#define LWIP_DNS               0
#define IP_FORWARD             0
#define IP_REASSEMBLY          1
#define IP_FRAG                1
#define IP_REASS_MAX_PBUFS     64     /* bounds what fragments from a peer can hold */
#define ARP_TABLE_SIZE         32
#define ARP_QUEUEING           1
#define ETH_PAD_SIZE           0
#define LWIP_CHECKSUM_ON_COPY  1

/* ---- TCP for bulk transfers ----------------------------------------------------------- */
#define TCP_MSS                1460
#define LWIP_WND_SCALE         1
#define TCP_RCV_SCALE          4      /* windows up to 65535 << 4 = 1 MiB */
#define TCP_WND                (512 * 1024)
#define TCP_SND_BUF            (1024 * 1024)
#define TCP_SND_QUEUELEN       (2 * TCP_SND_BUF / TCP_MSS + 16)
#define MEMP_NUM_TCP_SEG       TCP_SND_QUEUELEN
#define TCP_SNDLOWAT           (0xffff - 4 * TCP_MSS - 1)   /* a u16 in lwIP: as high as it may go */
#define TCP_SNDQUEUELOWAT      (TCP_SND_QUEUELEN / 2)
#define TCP_OVERSIZE           TCP_MSS
#define TCP_QUEUE_OOSEQ        1
#define TCP_OOSEQ_MAX_BYTES    TCP_WND   /* out-of-order data a peer can park per connection */
#define TCP_OOSEQ_MAX_PBUFS    512
#define TCP_LISTEN_BACKLOG     1      /* bounds half-open connections per listener */
#define TCP_DEFAULT_LISTEN_BACKLOG 8
#define LWIP_TCP_KEEPALIVE     1
#define MEMP_NUM_TCP_PCB       32
#define MEMP_NUM_TCP_PCB_LISTEN 8
#define MEMP_NUM_UDP_PCB       8
#define MEMP_NUM_RAW_PCB       4
#define PBUF_POOL_SIZE         1024   /* receive side: RX ring plus a window in segments */
#define MEMP_NUM_PBUF          64     /* PBUF_REF/ROM: the fragments of what IP_FRAG splits */
#define MEMP_NUM_FRAG_PBUF     64
#define MEMP_NUM_REASSDATA     8      /* datagrams under reassembly at once */
#define MEMP_NUM_ARP_QUEUE     32     /* packets waiting for an ARP answer */
#define PBUF_POOL_BUFSIZE      1536

/* ---- netif ----------------------------------------------------------------------------- */
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1
#define LWIP_NETIF_HOSTNAME        1
#define LWIP_HAVE_LOOPIF           0
#define LWIP_NETIF_LOOPBACK        0

/* ---- diagnostics ----------------------------------------------------------------------- */
#define LWIP_STATS             0
#define LWIP_DEBUG             0

#endif
