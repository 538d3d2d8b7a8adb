/*
 * The subset of <string.h> that Ferry's freestanding image provides (and that
 * lwIP and mbedTLS expect). memcpy and memset are arch/x86/memops.c (libefi's are made weak); the
 * rest from kernel/lib/string.c. Host builds use the C library's own header.
 */
#ifndef FERRY_LIBC_STRING_H
#define FERRY_LIBC_STRING_H

#include <stddef.h>

void  *memcpy(void *restrict dst, const void *restrict src, size_t n);
void  *memset(void *dst, int value, size_t n);
void  *memmove(void *dst, const void *src, size_t n);
int    memcmp(const void *a, const void *b, size_t n);
void  *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int    strcmp(const char *a, const char *b);
int    strncmp(const char *a, const char *b, size_t n);
char  *strchr(const char *s, int c);
char  *strrchr(const char *s, int c);
char  *strncpy(char *dst, const char *src, size_t n);
char  *strstr(const char *haystack, const char *needle);

#endif
