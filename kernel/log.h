/*
 * The kernel log: timestamped lines kept in a ring (`dmesg`) and shown on the
 * console as they happen, charged to the console's log source (kernel/console.h):
 * a line logged by a background poller never waits on the UART, and past the
 * source's rate limit it is in `dmesg` only (the console says how many were
 * left out). Usable from the first instruction of efi_main on.
 */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_INFO, LOG_WARN, LOG_ERROR };

void klog(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define klog_info(...)  klog(LOG_INFO, __VA_ARGS__)
#define klog_warn(...)  klog(LOG_WARN, __VA_ARGS__)
#define klog_error(...) klog(LOG_ERROR, __VA_ARGS__)

/* Copies the log out from absolute position *pos; see log_ring_read(). */
size_t klog_read(uint64_t *pos, char *out, size_t max);

#endif
