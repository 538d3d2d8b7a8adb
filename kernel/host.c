/* This host's configuration and ESP files; see host.h. */
#include "kernel/host.h"
#include "kernel/log.h"

#include <string.h>

static struct ferry_config config;
static const struct boot_info *boot;

static void report_config(void *ctx, enum config_severity severity, unsigned line, const char *msg)
{
	(void)ctx;
	if (severity == CONFIG_ERROR)
		klog_error("ferry.cfg line %u: %s", line, msg);
	else
		klog_warn("ferry.cfg line %u: %s", line, msg);
}

void host_init(const struct boot_info *info)
{
	boot = info;
	config_defaults(&config);
	if (boot->config_text) {
		unsigned errors = config_parse(&config, boot->config_text, boot->config_len,
					       report_config, NULL);
		if (errors)
			klog_warn("ferry.cfg: %u error(s); defaults kept for those keys", errors);
	}
	if (!config.migration_key[0])
		klog_warn("ferry.cfg sets no migration_key: this host will neither send nor receive guests");
	klog_info("host %s: migration port %u", config.hostname, config.migration_port);
}

const struct ferry_config *host_config(void)
{
	return &config;
}

const struct boot_file *host_files(unsigned *count)
{
	*count = boot->file_count;
	return boot->files;
}

const struct boot_file *host_file(const char *path)
{
	for (unsigned i = 0; i < boot->file_count; i++)
		if (strcmp(boot->files[i].name, path) == 0)
			return &boot->files[i];
	return NULL;
}
