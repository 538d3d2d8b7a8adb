/* The kernel log; see log.h. */
#include "kernel/log.h"
#include "kernel/clock.h"
#include "kernel/console.h"
#include "kernel/lib/format.h"
#include "kernel/log_ring.h"

#include <stdarg.h>
#include <stdbool.h>

#define LOG_RING_BYTES (64 * 1024)
#define LOG_LINE_MAX   512   /* a migration outcome with its whole reason (MIG_SAY_MAX) fits */

static char ring_storage[LOG_RING_BYTES];
static struct log_ring ring = { ring_storage, LOG_RING_BYTES, 0 };

static const char *const level_tag[] = {
	[LOG_INFO] = "",
	[LOG_WARN] = "warning: ",
	[LOG_ERROR] = "error: ",
};

void klog(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	uint64_t us = clock_us();
	size_t n = fmt_snprintf(line, sizeof(line), "[%5llu.%06llu] %s",
				(unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
				level_tag[level]);
	va_list ap;

	va_start(ap, fmt);
	if (n < sizeof(line))
		n += fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';
	log_ring_write(&ring, line, n);
	/* Charged to the log's source: from a background poller it never waits on the UART. */
	console_emit(&console_log_source, line, n);
}

size_t klog_read(uint64_t *pos, char *out, size_t max)
{
	return log_ring_read(&ring, pos, out, max);
}
