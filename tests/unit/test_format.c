/* Host tests of the formatter (kernel/lib/format.c), compared with the C library's. */
#include "check.h"
#include "kernel/lib/format.h"

#include <stdint.h>

#define SAME(...)                                                         \
	do {                                                              \
		char ours[256], libc[256];                                \
		size_t n = fmt_snprintf(ours, sizeof(ours), __VA_ARGS__); \
		int m = snprintf(libc, sizeof(libc), __VA_ARGS__);        \
		CHECK_STR(ours, libc);                                    \
		CHECK_EQ_U(n, (size_t)m);                                 \
	} while (0)

TEST(integers)
{
	SAME("%d %i %u", -42, 7, 3000000000u);
	SAME("%5d|%-5d|%05d|%+d|% d", 42, 42, 42, 42, 42);
	SAME("%x %X %o %#x", 0xbeef, 0xbeef, 8, 0);
	SAME("%#x %#X %#o %#10x %#-8x|", 0xbeef, 0xbeef, 8, 255, 1);
	SAME("%lld %llu %llx", (long long)INT64_MIN, (unsigned long long)UINT64_MAX, 0x123456789abcdefull);
	SAME("%zu %ld %hhu %hd", (size_t)123, -5L, 300, 70000);
	SAME("%.3d|%8.3d|%-8.3d|%.0d|", 5, 5, 5, 0);
	SAME("%016llx", 0xabcull);
}

TEST(strings_and_chars)
{
	SAME("[%s] [%10s] [%-10s] [%.2s]", "abc", "abc", "abc", "abc");
	SAME("%c%c%c", 'a', 'b', 'c');
	SAME("%5c|%-5c|", 'x', 'y');
	SAME("100%%");
	SAME("%*d|%-*d|%.*s", 6, 1, 6, 2, 3, "abcdef");
}

TEST(truncation_reports_full_length)
{
	char small[5];

	CHECK_EQ_U(fmt_snprintf(small, sizeof(small), "%s", "abcdefgh"), 8);
	CHECK_STR(small, "abcd");
	CHECK_EQ_U(fmt_snprintf(NULL, 0, "%d", 12345), 5);
}

TEST(null_string_and_unknown_conversion)
{
	char buf[64];

	const char *volatile none = NULL;

	fmt_snprintf(buf, sizeof(buf), "%s", none);
	CHECK_STR(buf, "(null)");
	/* Formats hidden from the compiler's checks, as a malformed one would come at run time. */
	const char *volatile unknown = "%q%d", *volatile trailing = "end%";
	fmt_snprintf(buf, sizeof(buf), unknown, 3);
	CHECK_STR(buf, "%q3");
	fmt_snprintf(buf, sizeof(buf), trailing);
	CHECK_STR(buf, "end");
}

TEST(pointer)
{
	char buf[64];

	fmt_snprintf(buf, sizeof(buf), "%p", (void *)0x1234);
	CHECK_STR(buf, "0x1234");
}

int main(void)
{
	return run_tests();
}
