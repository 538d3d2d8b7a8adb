/* ferry.cfg parser; see config.h for the format. */
#include "kernel/config.h"
#include "kernel/lib/format.h"
#include "kernel/lib/parse.h"

#include <string.h>

#define IPV4_PREFIX_MAX 32
#define PORT_MIN 1
#define PORT_MAX 65535

void config_defaults(struct ferry_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strncpy(cfg->hostname, "ferry", sizeof(cfg->hostname) - 1);
	cfg->dhcp = true;
	cfg->migration_port = CONFIG_DEFAULT_MIGRATION_PORT;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

uint32_t config_prefix_to_mask(uint8_t prefix_len)
{
	return prefix_len == 0 ? 0 : prefix_len >= IPV4_PREFIX_MAX ? 0xffffffffu
	       : ~((1u << (IPV4_PREFIX_MAX - prefix_len)) - 1);
}

struct parse_state {
	struct ferry_config *cfg;
	config_report_fn report;
	void *ctx;
	unsigned line;
	unsigned errors;
};

static void report(struct parse_state *st, enum config_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct parse_state *st, enum config_severity sev, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == CONFIG_ERROR)
		st->errors++;
	if (st->report)
		st->report(st->ctx, sev, st->line, msg);
}

static bool span_equals(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static void set_hostname(struct parse_state *st, const char *v, size_t len)
{
	if (len == 0 || len > CONFIG_HOSTNAME_MAX) {
		report(st, CONFIG_ERROR, "hostname must have 1 to %d characters", CONFIG_HOSTNAME_MAX);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-';
		if (!ok) {
			report(st, CONFIG_ERROR, "hostname may hold only letters, digits and '-'");
			return;
		}
	}
	memcpy(st->cfg->hostname, v, len);
	st->cfg->hostname[len] = '\0';
}

static void set_address(struct parse_state *st, const char *v, size_t len)
{
	if (span_equals(v, len, "dhcp")) {
		st->cfg->dhcp = true;
		st->cfg->address = 0;
		st->cfg->prefix_len = 0;
		return;
	}
	const char *slash = memchr(v, '/', len);
	uint32_t addr;
	uint64_t prefix;
	if (!slash || !parse_ipv4(v, (size_t)(slash - v), &addr) ||
	    !parse_decimal(slash + 1, len - (size_t)(slash - v) - 1, 1, IPV4_PREFIX_MAX, &prefix)) {
		report(st, CONFIG_ERROR, "address must be 'dhcp' or A.B.C.D/N with N from 1 to 32");
		return;
	}
	st->cfg->dhcp = false;
	st->cfg->address = addr;
	st->cfg->prefix_len = (uint8_t)prefix;
}

static void set_gateway(struct parse_state *st, const char *v, size_t len)
{
	uint32_t addr;

	if (!parse_ipv4(v, len, &addr)) {
		report(st, CONFIG_ERROR, "gateway must be an address A.B.C.D");
		return;
	}
	st->cfg->gateway = addr;
}

static void set_migration_port(struct parse_state *st, const char *v, size_t len)
{
	uint64_t port;

	if (!parse_decimal(v, len, PORT_MIN, PORT_MAX, &port)) {
		report(st, CONFIG_ERROR, "migration_port must be a number from 1 to 65535");
		return;
	}
	st->cfg->migration_port = (uint16_t)port;
}

static void set_migration_key(struct parse_state *st, const char *v, size_t len)
{
	if (len < CONFIG_KEY_MIN || len > CONFIG_KEY_MAX) {
		report(st, CONFIG_ERROR, "migration_key must have %d to %d characters",
		       CONFIG_KEY_MIN, CONFIG_KEY_MAX);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (v[i] < 0x21 || v[i] > 0x7e) {
			report(st, CONFIG_ERROR, "migration_key must be printable, without spaces");
			return;
		}
	}
	memcpy(st->cfg->migration_key, v, len);
	st->cfg->migration_key[len] = '\0';
}

static const char *const cipher_names[] = {
	[CONFIG_CIPHER_CHACHA20_POLY1305] = "chacha20-poly1305",
	[CONFIG_CIPHER_NONE] = "none",
};

const char *config_cipher_name(enum config_cipher c)
{
	return (unsigned)c < sizeof(cipher_names) / sizeof(cipher_names[0]) ? cipher_names[c] : "?";
}

static void set_migration_cipher(struct parse_state *st, const char *v, size_t len)
{
	for (unsigned i = 0; i < sizeof(cipher_names) / sizeof(cipher_names[0]); i++)
		if (span_equals(v, len, cipher_names[i])) {
			st->cfg->migration_cipher = (enum config_cipher)i;
			return;
		}
	report(st, CONFIG_ERROR, "migration_cipher must be chacha20-poly1305 or none");
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
	       c == '_' || c == '-';
}

/* A file under the ESP's tls folder: "tls/NAME", NAME of letters, digits, '.', '_', '-'. */
static void set_tls_path(struct parse_state *st, const char *key, char *out, const char *v, size_t len)
{
	size_t folder = sizeof(CONFIG_TLS_FOLDER) - 1;
	bool ok = len > folder && len <= CONFIG_PATH_MAX && memcmp(v, CONFIG_TLS_FOLDER, folder) == 0;

	for (size_t i = folder; ok && i < len; i++)
		ok = is_name_char(v[i]);
	if (!ok) {
		report(st, CONFIG_ERROR, "%s must be a file in the ESP's tls folder: tls/NAME, at most %d characters",
		       key, CONFIG_PATH_MAX);
		return;
	}
	memcpy(out, v, len);
	out[len] = '\0';
}

static void set_migration_cert(struct parse_state *st, const char *v, size_t len)
{
	set_tls_path(st, "migration_cert", st->cfg->migration_cert, v, len);
}

static void set_migration_key_file(struct parse_state *st, const char *v, size_t len)
{
	set_tls_path(st, "migration_key_file", st->cfg->migration_key_file, v, len);
}

static void set_migration_ca(struct parse_state *st, const char *v, size_t len)
{
	set_tls_path(st, "migration_ca", st->cfg->migration_ca, v, len);
}

static void set_svm_dirty(struct parse_state *st, const char *v, size_t len)
{
	if (span_equals(v, len, "npt-ad"))
		st->cfg->svm_dirty_write_protect = false;
	else if (span_equals(v, len, "npt-wp"))
		st->cfg->svm_dirty_write_protect = true;
	else
		report(st, CONFIG_ERROR, "svm_dirty must be npt-ad or npt-wp");
}

struct key_handler {
	const char *key;
	void (*set)(struct parse_state *st, const char *value, size_t len);
};

static const struct key_handler key_handlers[] = {
	{ "hostname", set_hostname },
	{ "address", set_address },
	{ "gateway", set_gateway },
	{ "migration_port", set_migration_port },
	{ "migration_key", set_migration_key },
	{ "migration_cert", set_migration_cert },
	{ "migration_key_file", set_migration_key_file },
	{ "migration_ca", set_migration_ca },
	{ "migration_cipher", set_migration_cipher },
	{ "svm_dirty", set_svm_dirty },
};

static void parse_line(struct parse_state *st, const char *s, size_t len)
{
	const char *hash = memchr(s, '#', len);
	if (hash)
		len = (size_t)(hash - s);
	while (len && is_space(s[len - 1]))
		len--;
	while (len && is_space(*s)) {
		s++;
		len--;
	}
	if (len == 0)
		return;

	const char *eq = memchr(s, '=', len);
	if (!eq) {
		report(st, CONFIG_ERROR, "expected 'key = value'");
		return;
	}
	size_t key_len = (size_t)(eq - s);
	while (key_len && is_space(s[key_len - 1]))
		key_len--;
	const char *value = eq + 1;
	size_t value_len = len - (size_t)(value - s);
	while (value_len && is_space(*value)) {
		value++;
		value_len--;
	}
	if (key_len == 0) {
		report(st, CONFIG_ERROR, "missing key before '='");
		return;
	}
	for (size_t i = 0; i < sizeof(key_handlers) / sizeof(key_handlers[0]); i++) {
		if (span_equals(s, key_len, key_handlers[i].key)) {
			key_handlers[i].set(st, value, value_len);
			return;
		}
	}
	report(st, CONFIG_WARNING, "unknown key '%.*s' ignored", (int)(key_len > 40 ? 40 : key_len), s);
}

unsigned config_parse(struct ferry_config *cfg, const char *text, size_t len,
		      config_report_fn report_fn, void *ctx)
{
	struct parse_state st = { cfg, report_fn, ctx, 0, 0 };
	size_t start = 0;

	while (start < len) {
		size_t end = start;
		while (end < len && text[end] != '\n')
			end++;
		st.line++;
		if (memchr(text + start, '\0', end - start))
			report(&st, CONFIG_ERROR, "line holds a NUL byte");
		else
			parse_line(&st, text + start, end - start);
		start = end + 1;
	}
	return st.errors;
}
