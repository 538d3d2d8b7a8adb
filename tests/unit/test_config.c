/* Host tests of the ferry.cfg parser (kernel/config.c). */
#include "check.h"
#include "kernel/config.h"

struct diag {
	unsigned warnings, errors, last_line;
	char last[160];
};

static void record(void *ctx, enum config_severity sev, unsigned line, const char *msg)
{
	struct diag *d = ctx;

	if (sev == CONFIG_ERROR)
		d->errors++;
	else
		d->warnings++;
	d->last_line = line;
	snprintf(d->last, sizeof(d->last), "%s", msg);
}

static unsigned parse(struct ferry_config *cfg, struct diag *d, const char *text)
{
	config_defaults(cfg);
	memset(d, 0, sizeof(*d));
	return config_parse(cfg, text, strlen(text), record, d);
}

TEST(defaults)
{
	struct ferry_config cfg;

	config_defaults(&cfg);
	CHECK_STR(cfg.hostname, "ferry");
	CHECK(cfg.dhcp);
	CHECK_EQ_U(cfg.migration_port, 8002);
	CHECK_EQ_U(cfg.migration_key[0], 0);
}

TEST(full_static_config)
{
	struct ferry_config cfg;
	struct diag d;
	const char *text =
		"# a comment\n"
		"hostname = ferry-a\n"
		"\n"
		"  address=198.18.0.10/24   # trailing comment\n"
		"gateway = 198.18.0.1\r\n"
		"migration_port = 9000\n"
		"migration_key = 0123456789abcdef-key\n";

	CHECK_EQ_U(parse(&cfg, &d, text), 0);
	CHECK_EQ_U(d.warnings, 0);
	CHECK_STR(cfg.hostname, "ferry-a");
	CHECK(!cfg.dhcp);
	CHECK_EQ_U(cfg.address, 0xc612000a);
	CHECK_EQ_U(cfg.prefix_len, 24);
	CHECK_EQ_U(cfg.gateway, 0xc6120001);
	CHECK_EQ_U(cfg.migration_port, 9000);
	CHECK_STR(cfg.migration_key, "0123456789abcdef-key");
}

TEST(unknown_key_warns_and_continues)
{
	struct ferry_config cfg;
	struct diag d;

	CHECK_EQ_U(parse(&cfg, &d, "colour = blue\nhostname = b\n"), 0);
	CHECK_EQ_U(d.warnings, 1);
	CHECK_EQ_U(d.last_line, 1);
	CHECK(strstr(d.last, "colour") != NULL);
	CHECK_STR(cfg.hostname, "b");
}

TEST(malformed_lines_name_the_line_and_keep_defaults)
{
	struct ferry_config cfg;
	struct diag d;

	CHECK_EQ_U(parse(&cfg, &d, "hostname = ok\nthis is not a pair\n"), 1);
	CHECK_EQ_U(d.last_line, 2);
	CHECK_STR(cfg.hostname, "ok");

	CHECK_EQ_U(parse(&cfg, &d, "= value\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "migration_port = 0\n"), 1);
	CHECK_EQ_U(cfg.migration_port, 8002);
	CHECK_EQ_U(parse(&cfg, &d, "migration_port = 65536\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "migration_port = 12a\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "migration_port = 99999999999999999999\n"), 1);
	CHECK_EQ_U(cfg.migration_port, 8002);
}

TEST(bad_values_rejected)
{
	struct ferry_config cfg;
	struct diag d;

	CHECK_EQ_U(parse(&cfg, &d, "address = 198.18.0.300/24\n"), 1);
	CHECK(cfg.dhcp);
	CHECK_EQ_U(parse(&cfg, &d, "address = 198.18.0.1\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "address = 198.18.0.1/33\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "address = 198.18.0/24\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "address = 198.18.0.1.5/24\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "address = 198..0.1/24\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "gateway = nowhere\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "hostname = has space\n"), 1);
	CHECK_EQ_U(parse(&cfg, &d, "hostname = a-name-that-is-much-longer-than-allowed\n"), 1);
	CHECK_STR(cfg.hostname, "ferry");
	CHECK_EQ_U(parse(&cfg, &d, "migration_key = short\n"), 1);
	CHECK_EQ_U(cfg.migration_key[0], 0);
	CHECK_EQ_U(parse(&cfg, &d, "address = dhcp\n"), 0);
	CHECK(cfg.dhcp);
}

TEST(nul_bytes_and_garbage_do_not_crash)
{
	struct ferry_config cfg;
	struct diag d;
	char text[] = "hostname = x\0y\nmigration_port = 1\n\xff\xfe=\x01\n";

	config_defaults(&cfg);
	memset(&d, 0, sizeof(d));
	unsigned errors = config_parse(&cfg, text, sizeof(text) - 1, record, &d);
	CHECK(errors >= 1);
	CHECK_EQ_U(cfg.migration_port, 1);
	CHECK_STR(cfg.hostname, "ferry");

	/* Every byte value, in lines of random length, must neither crash nor read past the end. */
	unsigned seed = 12345;
	for (int round = 0; round < 2000; round++) {
		char buf[64];
		size_t len = (size_t)(round % 64);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (char)(seed >> 16);
		}
		config_defaults(&cfg);
		config_parse(&cfg, buf, len, NULL, NULL);
	}
}

TEST(masks)
{
	CHECK_EQ_U(config_prefix_to_mask(24), 0xffffff00u);
	CHECK_EQ_U(config_prefix_to_mask(32), 0xffffffffu);
	CHECK_EQ_U(config_prefix_to_mask(1), 0x80000000u);
	CHECK_EQ_U(config_prefix_to_mask(0), 0);
}

TEST(svm_dirty_tracking_mode)
{
	struct ferry_config cfg;
	struct diag d;

	config_defaults(&cfg);
	CHECK(!cfg.svm_dirty_write_protect);
	CHECK_EQ_U(parse(&cfg, &d, "svm_dirty = npt-wp\n"), 0);
	CHECK(cfg.svm_dirty_write_protect);
	CHECK_EQ_U(parse(&cfg, &d, "svm_dirty = npt-ad\n"), 0);
	CHECK(!cfg.svm_dirty_write_protect);
	CHECK_EQ_U(parse(&cfg, &d, "svm_dirty = pml\n"), 1);
	CHECK(!cfg.svm_dirty_write_protect);
}

int main(void)
{
	return run_tests();
}
