/* SPDX-License-Identifier: Apache-2.0 */
/* The Firecracker-compatible front-end (fc_frontend.h). */
#include "fc_frontend.h"

#include "../boot_timer.h"
#include "../log.h"
#include "../vm.h"
#include "../vm_stop.h"
#include "api_service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FC_DEFAULT_SOCK "/run/firecracker.socket"

struct fc_args {
	const char *api_sock, *id, *config_file, *log_path, *level, *metrics_path, *metadata;
	const char *seccomp_filter, *plugin_dir;
	bool no_api, no_seccomp, api_sock_given;
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: firecracker [--api-sock PATH] [--id ID] [--config-file FILE] [--no-api]\n"
	       "         [--boot-timer] [--no-seccomp] [--seccomp-filter FILE] [--log-path PATH]\n"
	       "         [--level LEVEL] [--show-level] [--show-log-origin] [--metrics-path PATH]\n"
	       "         [--metadata FILE] [--start-time-us N] [--start-time-cpu-us N]\n"
	       "         [--parent-cpu-time-us N] [--http-api-max-payload-size N]\n"
	       "         [--mmds-size-limit N] [--plugin-dir DIR] [--version] [--help]\n"
	       "(ember's Firecracker-compatible front-end; docs/api.md)\n");
}

static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Returns 0, 1 for --version/--help (done), or -1 after the one error line. */
static int parse_args(int argc, char **argv, struct fc_args *a, const char *version)
{
	static const char *const with_value[] = {"--api-sock",
						 "--id",
						 "--config-file",
						 "--log-path",
						 "--level",
						 "--metrics-path",
						 "--metadata",
						 "--seccomp-filter",
						 "--start-time-us",
						 "--start-time-cpu-us",
						 "--parent-cpu-time-us",
						 "--http-api-max-payload-size",
						 "--mmds-size-limit",
						 "--plugin-dir",
						 NULL};
	static const char *const numeric[] = {"--start-time-us",      "--start-time-cpu-us",
					      "--parent-cpu-time-us", "--http-api-max-payload-size",
					      "--mmds-size-limit",    NULL};

	memset(a, 0, sizeof(*a));
	a->api_sock = FC_DEFAULT_SOCK;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = NULL;
		bool takes = false;

		for (const char *const *w = with_value; *w; w++)
			takes |= !strcmp(f, *w);
		if (takes) {
			if (i + 1 >= argc) {
				log_error("%s: needs a value", f);
				return -1;
			}
			v = argv[++i];
			for (const char *const *w = numeric; *w; w++)
				if (!strcmp(f, *w) && !is_number(v)) {
					log_error("%s: \"%s\": expected a number", f, v);
					return -1;
				}
		}
		if (!strcmp(f, "--version")) {
			printf("Firecracker v%s\nember %s (implements Firecracker's API v%s)\n",
			       EMBER_FC_API_VERSION, version, EMBER_FC_API_VERSION);
			return 1;
		} else if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
			usage(stdout);
			return 1;
		} else if (!strcmp(f, "--api-sock")) {
			a->api_sock = v;
			a->api_sock_given = true;
		} else if (!strcmp(f, "--id")) {
			if (!id_ok(v)) {
				log_error(
				    "--id: \"%.70s\": expected 1 to 64 of A-Z, a-z, 0-9 and -", v);
				return -1;
			}
			a->id = v;
		} else if (!strcmp(f, "--config-file"))
			a->config_file = v;
		else if (!strcmp(f, "--no-api"))
			a->no_api = true;
		else if (!strcmp(f, "--no-seccomp"))
			a->no_seccomp = true;
		else if (!strcmp(f, "--seccomp-filter"))
			a->seccomp_filter = v;
		else if (!strcmp(f, "--log-path"))
			a->log_path = v;
		else if (!strcmp(f, "--level"))
			a->level = v;
		else if (!strcmp(f, "--metrics-path"))
			a->metrics_path = v;
		else if (!strcmp(f, "--metadata"))
			a->metadata = v;
		else if (!strcmp(f, "--plugin-dir"))
			a->plugin_dir = v;
		else if (!strcmp(f, "--boot-timer") || !strcmp(f, "--show-level") ||
			 !strcmp(f, "--show-log-origin") || takes)
			; /* the boot timer is always there; the others only inform */
		else {
			log_error("%s: unknown argument (firecracker --help lists them)", f);
			return -1;
		}
	}
	if (a->no_api && !a->config_file) {
		log_error("--no-api: needs --config-file (nothing could configure the VM)");
		return -1;
	}
	if (a->no_api && a->api_sock_given) {
		log_error("--api-sock and --no-api: choose one");
		return -1;
	}
	return 0;
}

static json_t *load_json(const char *what, const char *path)
{
	json_error_t e;
	json_t *v = json_load_file(path, JSON_REJECT_DUPLICATES, &e);

	if (!v)
		log_error("%s %s:%d:%d: %s", what, path, e.line, e.column, e.text);
	return v;
}

/* --log-path, --level, --metrics-path: as the PUT /logger and PUT /metrics bodies would. */
static int apply_flags(struct api_service *s, const struct fc_args *a, char *err, size_t n)
{
	json_t *logger = NULL;
	int rc = 0;

	if (a->log_path || a->level) {
		logger = json_object();
		if (a->log_path)
			json_object_set_new(logger, "log_path", json_string(a->log_path));
		if (a->level)
			json_object_set_new(logger, "level", json_string(a->level));
		rc = fc_model_set_logger(&s->api.model, logger, err, n);
		json_decref(logger);
		if (rc)
			return -1;
	}
	if (a->metrics_path) {
		json_t *m = json_pack("{s:s}", "metrics_path", a->metrics_path);

		rc = fc_model_set_metrics(&s->api.model, m, err, n);
		json_decref(m);
		if (rc)
			return -1;
	}
	return api_service_apply_files(s, err, n);
}

int fc_frontend_main(int argc, char **argv, const char *ember_version)
{
	struct api_service s;
	struct vm_run_hooks hooks;
	struct fc_args a;
	char err[1024];
	int rc, status;

	rc = parse_args(argc, argv, &a, ember_version);
	if (rc)
		return rc > 0 ? EMBER_EXIT_OK : FC_EXIT_ARG_PARSING;
	if (api_service_init(&s, a.id, a.no_api ? NULL : a.api_sock, a.plugin_dir, err,
			     sizeof(err))) {
		log_error("%s", err);
		return EMBER_EXIT_ERROR;
	}
	s.api.vmm_version = ember_version;
	if (s.http)
		log_debug("start-up: API socket accepting after wall_ms=%.3f cpu_ms=%.3f",
			  boot_timer_wall_ms(), boot_timer_cpu_ms());
	if (a.seccomp_filter)
		log_warn("--seccomp-filter %s: not used; ember builds its filters per thread from "
			 "the plugins' declarations (--no-seccomp turns them off)",
			 a.seccomp_filter);
	status = FC_EXIT_BAD_CONFIGURATION;
	if (a.config_file) {
		json_t *root = load_json("--config-file", a.config_file);

		if (!root)
			goto out;
		rc = fc_model_load_json(&s.api.model, root, err, sizeof(err));
		json_decref(root);
		if (rc) {
			log_error("--config-file %s: %s", a.config_file, err);
			goto out;
		}
	}
	if (apply_flags(&s, &a, err, sizeof(err))) {
		log_error("%s", err);
		goto out;
	}
	if (a.metadata) {
		json_t *md = load_json("--metadata", a.metadata);

		if (!md)
			goto out;
		rc = fc_model_set_mmds(&s.api.model, md, false, err, sizeof(err));
		json_decref(md);
		if (rc) {
			log_error("--metadata %s: %s", a.metadata, err);
			goto out;
		}
	}
	if (a.config_file) {
		if (api_service_load(&s, err, sizeof(err))) {
			log_error("--config-file %s: %s", a.config_file, err);
			goto out;
		}
	} else {
		rc = api_service_serve_until_start(&s);
		if (rc) {
			status = rc > 0 ? EMBER_EXIT_OK : EMBER_EXIT_ERROR;
			goto out;
		}
	}
	if (a.no_seccomp)
		s.cfg.seccomp = false;
	hooks = api_service_hooks(&s, "fc_vcpu ");
	status = vm_run(&s.cfg, &hooks);
out:
	api_service_fini(&s);
	return status;
}

int fc_run_with_api(struct vm_config *cfg, const char *sock_path)
{
	struct api_service s;
	struct vm_run_hooks hooks;
	char err[1024];
	int status;

	if (api_service_init(&s, NULL, sock_path, NULL, err, sizeof(err))) {
		log_error("%s", err);
		return EMBER_EXIT_ERROR;
	}
	json_object_set_new(s.api.model.machine, "vcpu_count", json_integer(cfg->vcpus));
	json_object_set_new(s.api.model.machine, "mem_size_mib", json_integer(cfg->memory_mib));
	s.api.phase = API_PHASE_RUNNING;
	hooks = api_service_hooks(&s, NULL);
	status = vm_run(cfg, &hooks);
	api_service_fini(&s);
	return status;
}
