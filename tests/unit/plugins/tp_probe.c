/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test plugin for tests/e2e/cases/jailer.sh: what ember's process can reach. In create it
 * logs the ids it runs as, then for each path of its option `paths` (':'-separated, as
 * given, not resolved against the config's folder) whether stat(2) and open(2) work:
 *   probe: uid=U gid=G
 *   probe PATH: stat ok|stat: ERROR; open ok|open: ERROR
 * A jailed ember must reach what is inside the jail and nothing outside it.
 */
#include <ember/device.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ember_instance {
	int unused;
};

static void probe(const struct ember_host *host, const char *path)
{
	struct stat st;
	char st_res[128], open_res[128];
	int fd;

	if (stat(path, &st) == 0)
		strcpy(st_res, "stat ok");
	else
		snprintf(st_res, sizeof(st_res), "stat: %s", strerror(errno));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		strcpy(open_res, "open ok");
		close(fd);
	} else {
		snprintf(open_res, sizeof(open_res), "open: %s", strerror(errno));
	}
	host->log(host, EMBER_LOG_INFO, "probe %s: %s; %s", path, st_res, open_res);
}

static int create(const struct ember_host *host, struct ember_instance **out)
{
	struct ember_instance *d = calloc(1, sizeof(*d));
	const char *paths = NULL;
	char *copy, *save = NULL;

	if (!d)
		return -1;
	host->log(host, EMBER_LOG_INFO, "probe: uid=%u gid=%u", (unsigned)getuid(),
		  (unsigned)getgid());
	if (host->opt_string(host, "paths", &paths) || !paths) {
		*out = d;
		return 0;
	}
	copy = strdup(paths);
	if (!copy) {
		free(d);
		return -1;
	}
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
		probe(host, p);
	free(copy);
	*out = d;
	return 0;
}

static void destroy(struct ember_instance *d)
{
	free(d);
}

static void rd(struct ember_instance *d, uint64_t off, void *data, uint32_t len)
{
	(void)d;
	(void)off;
	memset(data, 0, len);
}

static const struct ember_option options[] = {
    EMBER_OPTION_STRING_DEF("paths", "", "':'-separated paths to stat and open at create"),
};

static const struct ember_device_ops ops = {
    .struct_size = sizeof(struct ember_device_ops),
    .create = create,
    .destroy = destroy,
    .mmio_read = rd,
};

static const struct ember_plugin_desc desc = {
    .struct_size = sizeof(struct ember_plugin_desc),
    .abi_major = EMBER_ABI_MAJOR,
    .abi_minor_required = 0,
    .kind = EMBER_DEVICE_MMIO,
    .name = "tp-probe",
    .vendor = "ember tests",
    .version = "1",
    .mmio_size = 4,
    .options = options,
    .option_count = EMBER_ARRAY_SIZE(options),
    .option_size = sizeof(struct ember_option),
    .ops = &ops,
};

EMBER_PLUGIN_DEFINE(desc)
