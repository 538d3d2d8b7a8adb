/* Host tests of the shell's command-line parsing (kernel/shell/cmdline.c). */
#include "check.h"
#include "kernel/shell/cmdline.h"
#include "kernel/lib/errors.h"

TEST(split_words)
{
	char line[] = "  create   web\tcounter memory=32  ";
	char *argv[CMDLINE_MAX_ARGS];
	int argc = -1;

	CHECK_EQ_U(cmdline_split(line, &argc, argv), 0);
	CHECK_EQ_U(argc, 4);
	CHECK_STR(argv[0], "create");
	CHECK_STR(argv[1], "web");
	CHECK_STR(argv[2], "counter");
	CHECK_STR(argv[3], "memory=32");
}

TEST(split_quotes)
{
	char line[] = "create a memtest args=\"mib=8 rate=100\" \"\"";
	char *argv[CMDLINE_MAX_ARGS];
	int argc;

	CHECK_EQ_U(cmdline_split(line, &argc, argv), 0);
	CHECK_EQ_U(argc, 5);
	CHECK_STR(argv[3], "args=mib=8 rate=100");
	CHECK_STR(argv[4], "");
}

TEST(split_errors)
{
	char unterminated[] = "echo \"abc";
	char many[] = "a b c d e f g h i j k l m n o p q";
	char empty[] = "   ";
	char *argv[CMDLINE_MAX_ARGS];
	int argc;

	CHECK_EQ_I(cmdline_split(unterminated, &argc, argv), FERR_INVAL);
	CHECK_EQ_I(cmdline_split(many, &argc, argv), FERR_TOOBIG);
	CHECK_EQ_U(cmdline_split(empty, &argc, argv), 0);
	CHECK_EQ_U(argc, 0);
}

TEST(options)
{
	char *argv[] = { "create", "web", "counter", "memory=32", "mac=52:54:00:00:00:01", "memory=64" };
	int argc = 6;
	bool dup = false;
	const char *known[] = { "memory", "mac", NULL };
	const char *few[] = { "memory", NULL };

	CHECK_EQ_U(cmdline_positional_count(argc, argv), 3);
	CHECK_STR(cmdline_option(argc, argv, "mac", &dup), "52:54:00:00:00:01");
	CHECK(!dup);
	CHECK_STR(cmdline_option(argc, argv, "memory", &dup), "64");
	CHECK(dup);
	CHECK(cmdline_option(argc, argv, "mem", NULL) == NULL);
	CHECK(cmdline_unknown_option(argc, argv, known) == NULL);
	CHECK_STR(cmdline_unknown_option(argc, argv, few), "mac=52:54:00:00:00:01");
	CHECK(!cmdline_is_option("=value"));
	CHECK(cmdline_is_option("k="));
}

TEST(numbers)
{
	uint64_t v;

	CHECK(cmdline_parse_u64("32", 16, 1024, &v));
	CHECK_EQ_U(v, 32);
	CHECK(cmdline_parse_u64("0x20", 0, 100, &v));
	CHECK_EQ_U(v, 32);
	CHECK(!cmdline_parse_u64("8", 16, 1024, &v));
	CHECK(!cmdline_parse_u64("2048", 16, 1024, &v));
	CHECK(!cmdline_parse_u64("", 0, 10, &v));
	CHECK(!cmdline_parse_u64("0x", 0, 10, &v));
	CHECK(!cmdline_parse_u64("12k", 0, 100, &v));
	CHECK(!cmdline_parse_u64("-1", 0, 100, &v));
	CHECK(!cmdline_parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
	CHECK(cmdline_parse_u64("18446744073709551615", 0, UINT64_MAX, &v));
	CHECK_EQ_U(v, UINT64_MAX);

	/* migration ids: 1-16 hex digits, no prefix */
	CHECK(cmdline_parse_hex64("6811de2a99c08bdd", &v) && v == 0x6811de2a99c08bddull);
	CHECK(cmdline_parse_hex64("FFFFFFFFFFFFFFFF", &v) && v == UINT64_MAX);
	CHECK(cmdline_parse_hex64("a", &v) && v == 10);
	CHECK(!cmdline_parse_hex64("", &v));
	CHECK(!cmdline_parse_hex64("0x12", &v));
	CHECK(!cmdline_parse_hex64("memtest", &v));
	CHECK(!cmdline_parse_hex64("10000000000000000", &v));
}

TEST(mac_addresses)
{
	uint8_t mac[6];

	CHECK(cmdline_parse_mac("52:54:00:Ab:cD:ef", mac));
	CHECK_EQ_U(mac[0], 0x52);
	CHECK_EQ_U(mac[3], 0xab);
	CHECK_EQ_U(mac[5], 0xef);
	CHECK(!cmdline_parse_mac("52:54:00:ab:cd", mac));
	CHECK(!cmdline_parse_mac("52:54:00:ab:cd:ef:00", mac));
	CHECK(!cmdline_parse_mac("52-54-00-ab-cd-ef", mac));
	CHECK(!cmdline_parse_mac("5:54:00:ab:cd:ef", mac));
	CHECK(!cmdline_parse_mac("", mac));
}

int main(void)
{
	return run_tests();
}
