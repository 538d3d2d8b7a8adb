/*
 * A minimal unit-test harness for the host builds of Ferry's portable modules.
 *
 *   TEST(name) { CHECK(expr); CHECK_EQ_U(a, b); CHECK_EQ_I(a, b); CHECK_STR(a, b); }
 *   int main(void) { return run_tests(); }
 *
 * Tests register themselves through a constructor; run_tests() runs them all,
 * prints one `PASS name` / `FAIL name` line each (the failing checks above it,
 * with file and line) and a last line `N passed, N failed`, and returns non-zero
 * when any failed. tests/test_unit.py runs every binary from pytest.
 */
#ifndef FERRY_TESTS_CHECK_H
#define FERRY_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

#define CHECK_MAX_TESTS 256

struct check_test {
	const char *name;
	void (*fn)(void);
};

static struct check_test check_tests[CHECK_MAX_TESTS];
static int check_test_count;
static int check_current_failures;

#define TEST(name)                                                              \
	static void test_##name(void);                                          \
	__attribute__((constructor)) static void register_##name(void)         \
	{                                                                       \
		if (check_test_count < CHECK_MAX_TESTS)                         \
			check_tests[check_test_count++] =                       \
				(struct check_test){ #name, test_##name };      \
	}                                                                       \
	static void test_##name(void)

#define CHECK(expr)                                                             \
	do {                                                                    \
		if (!(expr)) {                                                  \
			printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr); \
			check_current_failures++;                               \
		}                                                               \
	} while (0)

#define CHECK_EQ_U(a, b)                                                        \
	do {                                                                    \
		unsigned long long check_a = (unsigned long long)(a);           \
		unsigned long long check_b = (unsigned long long)(b);           \
		if (check_a != check_b) {                                       \
			printf("  %s:%d: %s == %s failed: %llu != %llu (0x%llx != 0x%llx)\n", \
			       __FILE__, __LINE__, #a, #b, check_a, check_b, check_a, check_b); \
			check_current_failures++;                               \
		}                                                               \
	} while (0)

#define CHECK_EQ_I(a, b)                                                        \
	do {                                                                    \
		long long check_a = (long long)(a);                             \
		long long check_b = (long long)(b);                             \
		if (check_a != check_b) {                                       \
			printf("  %s:%d: %s == %s failed: %lld != %lld\n",      \
			       __FILE__, __LINE__, #a, #b, check_a, check_b);   \
			check_current_failures++;                               \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *check_a = (a), *check_b = (b);                      \
		if (!check_a || !check_b || strcmp(check_a, check_b) != 0) {    \
			printf("  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",  \
			       __FILE__, __LINE__, #a, #b, check_a ? check_a : "(null)", \
			       check_b ? check_b : "(null)");                   \
			check_current_failures++;                               \
		}                                                               \
	} while (0)

static inline int run_tests(void)
{
	int passed = 0, failed = 0;

	for (int i = 0; i < check_test_count; i++) {
		check_current_failures = 0;
		check_tests[i].fn();
		if (check_current_failures) {
			printf("FAIL %s\n", check_tests[i].name);
			failed++;
		} else {
			printf("PASS %s\n", check_tests[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
