/* Host tests of the shell's command-line parsing and option specs (kernel/shell/cmdline.c). */
#include "check.h"
#include "kernel/shell/cmdline.h"
#include "kernel/lib/errors.h"

#include <string.h>

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

/* Runs the spec parser over a command line (split first). */
static enum cmdline_result parse(char *line, int positionals, const struct cmdline_option *options,
				 size_t count, char *err)
{
	char *argv[CMDLINE_MAX_ARGS];
	int argc;

	if (cmdline_split(line, &argc, argv))
		return (enum cmdline_result)-1;
	err[0] = '\0';
	return cmdline_parse_options(argc, argv, positionals, options, count, err);
}

struct create_args {
	uint64_t mib;
	uint8_t mac[6];
	bool mac_given;
	const char *args;
	bool wait;
	bool wait_given;
};

#define CREATE_OPTIONS(a)                                                                        \
	{                                                                                        \
		{ "memory", CMDLINE_U64, "MiB", 16, 1024, &(a).mib, NULL },                      \
		{ "mac", CMDLINE_UNICAST_MAC, NULL, 0, 0, (a).mac, &(a).mac_given },             \
		{ "args", CMDLINE_STRING, NULL, 0, 0, &(a).args, NULL },                         \
		{ "wait", CMDLINE_YES_NO, NULL, 0, 0, &(a).wait, &(a).wait_given },              \
	}
#define N_OPTIONS 4

TEST(options_fill_their_targets)
{
	struct create_args a = { .mib = 32, .wait = true };
	const struct cmdline_option options[] = CREATE_OPTIONS(a);
	char line[] = "create web counter memory=0x40 mac=52:54:00:Ab:cD:01 args=\"mib=8 rate=1\" wait=no";
	char err[CMDLINE_ERROR_MAX];

	CHECK_EQ_U(parse(line, 3, options, N_OPTIONS, err), CMDLINE_OK);
	CHECK_EQ_U(a.mib, 64);
	CHECK(a.mac_given);
	CHECK_EQ_U(a.mac[0], 0x52);
	CHECK_EQ_U(a.mac[3], 0xab);
	CHECK_EQ_U(a.mac[5], 0x01);
	CHECK_STR(a.args, "mib=8 rate=1");
	CHECK(!a.wait);
	CHECK(a.wait_given);
	CHECK_STR(err, "");
}

TEST(absent_options_keep_defaults)
{
	struct create_args a = { .mib = 32, .wait = true };
	const struct cmdline_option options[] = CREATE_OPTIONS(a);
	char line[] = "create web counter";
	char err[CMDLINE_ERROR_MAX];

	CHECK_EQ_U(parse(line, 3, options, N_OPTIONS, err), CMDLINE_OK);
	CHECK_EQ_U(a.mib, 32);
	CHECK(!a.mac_given);
	CHECK(a.args == NULL);
	CHECK(a.wait);
	CHECK(!a.wait_given);

	char empty_args[] = "create web counter args= wait=yes";
	CHECK_EQ_U(parse(empty_args, 3, options, N_OPTIONS, err), CMDLINE_OK);
	CHECK_STR(a.args, "");
	CHECK(a.wait);
}

TEST(positional_count_is_a_usage_error)
{
	struct create_args a = { 0 };
	const struct cmdline_option options[] = CREATE_OPTIONS(a);
	char few[] = "create web memory=32";
	char many[] = "create web counter extra memory=32";
	char option_first[] = "create memory=32 web counter";
	char err[CMDLINE_ERROR_MAX];

	CHECK_EQ_U(parse(few, 3, options, N_OPTIONS, err), CMDLINE_USAGE);
	CHECK_EQ_U(parse(many, 3, options, N_OPTIONS, err), CMDLINE_USAGE);
	CHECK_EQ_U(parse(option_first, 3, options, N_OPTIONS, err), CMDLINE_USAGE);
}

TEST(error_messages)
{
	static const struct {
		const char *line;
		const char *err;
	} cases[] = {
		{ "create x c colour=red",
		  "unknown option 'colour=red' (memory=, mac=, args=, wait=)" },
		{ "create x c memory=lots colour=red",
		  "unknown option 'colour=red' (memory=, mac=, args=, wait=)" },
		{ "create x c mem=32", "unknown option 'mem=32' (memory=, mac=, args=, wait=)" },
		{ "create x c 0123456789012345678901234567890123456789=1",
		  "unknown option '01234567890123456789012345678901' (memory=, mac=, args=, wait=)" },
		{ "create x c memory=32 memory=64", "an option is given twice" },
		{ "create x c memory=lots memory=64", "an option is given twice" },
		{ "create x c memory=8", "memory must be a number of MiB from 16 to 1024" },
		{ "create x c memory=2048", "memory must be a number of MiB from 16 to 1024" },
		{ "create x c memory=", "memory must be a number of MiB from 16 to 1024" },
		{ "create x c mac=01:00:5e:00:00:01",
		  "mac must be a unicast address like 52:54:00:12:34:56" },
		{ "create x c mac=zz", "mac must be a unicast address like 52:54:00:12:34:56" },
		{ "create x c wait=maybe", "wait must be yes or no" },
		/* the first bad value in table order wins */
		{ "create x c wait=maybe mac=zz memory=1",
		  "memory must be a number of MiB from 16 to 1024" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct create_args a = { 0 };
		const struct cmdline_option options[] = CREATE_OPTIONS(a);
		char line[CMDLINE_ERROR_MAX];
		char err[CMDLINE_ERROR_MAX];

		strcpy(line, cases[i].line);
		CHECK_EQ_U(parse(line, 3, options, N_OPTIONS, err), CMDLINE_INVALID);
		CHECK_STR(err, cases[i].err);
	}
}

TEST(words_that_are_not_options)
{
	struct create_args a = { .mib = 32 };
	const struct cmdline_option options[] = CREATE_OPTIONS(a);
	/* A plain word after the options is refused, not ignored: `memory=32 junk` would
	 * otherwise pass for what the operator meant; "=x" is no option either. */
	char trailing[] = "create web counter memory=64 trailing";
	char empty_key[] = "create web counter memory=64 =x";
	char err[CMDLINE_ERROR_MAX];

	CHECK_EQ_U(parse(trailing, 3, options, N_OPTIONS, err), CMDLINE_INVALID);
	CHECK_STR(err, "unexpected 'trailing' after the options (options are key=value)");
	CHECK_EQ_U(parse(empty_key, 3, options, N_OPTIONS, err), CMDLINE_INVALID);
	CHECK_STR(err, "unexpected '=x' after the options (options are key=value)");
}

TEST(no_options_declared)
{
	char line[] = "migrate web 1.2.3.4 k=v";
	char err[CMDLINE_ERROR_MAX];

	CHECK_EQ_U(parse(line, 3, NULL, 0, err), CMDLINE_INVALID);
	CHECK_STR(err, "unknown option 'k=v' ()");
}

TEST(numbers_with_their_message)
{
	char err[CMDLINE_ERROR_MAX] = "";
	uint64_t v = 0;

	CHECK(cmdline_parse_number("COUNT", NULL, "1000", 1, 1000, &v, err));
	CHECK_EQ_U(v, 1000);
	CHECK(!cmdline_parse_number("COUNT", NULL, "0", 1, 1000, &v, err));
	CHECK_STR(err, "COUNT must be a number from 1 to 1000");
	CHECK(!cmdline_parse_number("bandwidth", "MB/s", "fast", 1, 100000, &v, err));
	CHECK_STR(err, "bandwidth must be a number of MB/s from 1 to 100000");
	CHECK_EQ_U(v, 1000);
}

int main(void)
{
	return run_tests();
}
