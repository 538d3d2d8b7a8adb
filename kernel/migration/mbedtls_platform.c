/*
 * mbedTLS's platform layer in the image (mbedtls_config.h names these): snprintf
 * through Ferry's formatter, exit as a panic (mbedTLS's buffer allocator calls it
 * only on a corrupted heap: a broken invariant), and that allocator's heap over
 * frames of owner "tls" (mig_tls_heap_init). Image only.
 */
#include "kernel/migration/mbedtls_platform.h"

#include <stdarg.h>

#include "kernel/lib/errors.h"
#include "kernel/lib/format.h"
#include "kernel/memory.h"
#include "kernel/panic.h"
#include "mbedtls/memory_buffer_alloc.h"

static struct frame_owner tls_owner = { .name = "tls" };

int ferry_mbedtls_snprintf(char *s, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	size_t len = fmt_vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return (int)len;
}

void ferry_mbedtls_exit(int status)
{
	panic("mbedTLS stopped (status %d): its heap is corrupted", status);
}

int mig_tls_heap_init(void)
{
	uint64_t phys;
	int err;

	mem_owner_register(&tls_owner);
	err = mem_alloc(&tls_owner, MIG_TLS_HEAP_BYTES / FRAME_SIZE, 1, &phys);
	if (err)
		return err;
	mbedtls_memory_buffer_alloc_init(phys_to_ptr(phys), MIG_TLS_HEAP_BYTES);
	return 0;
}
