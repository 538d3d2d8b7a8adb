/* lwIP's pool bounds over MEMP_MEM_MALLOC; see lwip_pools.h. */
#include "net/lwip_pools.h"

#include "lwip/memp.h"
#include "lwip/timeouts.h"     /* MEMP_NUM_SYS_TIMEOUT counts these ... */
#include "netif/ppp/ppp_opts.h" /* ... and PPP's (none: PPP is off) */

/* Each pool's bound, from lwIP's own list of pools (memp_std.h) and Ferry's MEMP_NUM_*. */
static const uint32_t pool_bound[MEMP_MAX] = {
#define LWIP_MEMPOOL(name, num, size, desc) [MEMP_##name] = (num),
#include "lwip/priv/memp_std.h"
};

static uint32_t pool_in_use[MEMP_MAX];
static uint64_t refused;

void *__real_memp_malloc(memp_t type);
void __real_memp_free(memp_t type, void *mem);
void *__wrap_memp_malloc(memp_t type);
void __wrap_memp_free(memp_t type, void *mem);

void *__wrap_memp_malloc(memp_t type)
{
	if ((unsigned)type >= MEMP_MAX)
		return NULL;
	if (pool_in_use[type] >= pool_bound[type]) {
		refused++;
		return NULL;
	}
	void *p = __real_memp_malloc(type);
	if (p)
		pool_in_use[type]++;
	return p;
}

void __wrap_memp_free(memp_t type, void *mem)
{
	if (mem && (unsigned)type < MEMP_MAX && pool_in_use[type])
		pool_in_use[type]--;
	__real_memp_free(type, mem);
}

uint64_t lwip_pools_refused(void)
{
	return refused;
}
