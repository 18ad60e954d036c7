/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane of one ember process (api_service.h). */
#include "api_service.h"

#include "../device_check.h"
#include "../log.h"
#include "../plugin_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_NAME "API configuration"

/* Plugin lookups, remembered: each PUT of a drive would otherwise dlopen the plugin again. */
struct plugin_seen {
	struct plugin_seen *next;
	bool present;
	char name[];
};

static bool have_plugin(void *opaque, const char *name)
{
	struct api_service *s = opaque;
	const char *dirs[1] = {s->plugin_dir};
	struct plugin_seen *p;
	struct plugin *pl;
	char err[512];
	size_t len;

	for (p = s->seen; p; p = p->next)
		if (!strcmp(p->name, name))
			return p->present;
	len = strlen(name);
	p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return false;
	memcpy(p->name, name, len + 1);
	p->present = !plugin_name_error(name) &&
		     !plugin_load_by_name(name, dirs, s->plugin_dir ? 1 : 0, &pl, err, sizeof(err));
	if (p->present)
		plugin_unload(pl);
	p->next = s->seen;
	s->seen = p;
	return p->present;
}

int api_service_load(struct api_service *s, char *err, size_t n)
{
	char *text = fc_model_libconfig(&s->api.model, err, n);
	int rc;

	if (!text)
		return -1;
	log_debug("the VM the API describes:\n%s", text);
	if (s->cfg_loaded)
		vm_config_free(&s->cfg);
	rc = vm_config_load_text(&s->cfg, CONFIG_NAME, text, err, n);
	free(text);
	if (rc)
		return -1;
	s->cfg_loaded = true;
	if (s->plugin_dir && s->cfg.plugin_dir_count == 0) {
		s->cfg.plugin_dirs = calloc(1, sizeof(char *));
		if (!s->cfg.plugin_dirs || !(s->cfg.plugin_dirs[0] = strdup(s->plugin_dir))) {
			snprintf(err, n, "out of memory");
			return -1;
		}
		s->cfg.plugin_dir_count = 1;
	}
	/* Every device created once without KVM, as `ember check` does: nothing starts half-way. */
	if (device_check(&s->cfg, err, n) != 0)
		return -1;
	return 0;
}

static int op_start(void *opaque, char *err, size_t n)
{
	return api_service_load(opaque, err, n);
}

static int op_pause(void *opaque, char *err, size_t n)
{
	struct api_service *s = opaque;
	int rc = s->vm ? vm_pause(s->vm) : -ENODEV;

	if (rc)
		snprintf(err, n, "%s", strerror(-rc));
	return rc;
}

static int op_resume(void *opaque, char *err, size_t n)
{
	struct api_service *s = opaque;
	int rc = s->vm ? vm_resume(s->vm) : -ENODEV;

	if (rc)
		snprintf(err, n, "%s", strerror(-rc));
	return rc;
}

static int op_ctrl_alt_del(void *opaque, char *err, size_t n)
{
	struct api_service *s = opaque;
	int rc = s->vm ? vm_send_ctrl_alt_del(s->vm) : -ENODEV;

	if (rc == -ENODEV)
		snprintf(err, n, "the guest has not enabled its keyboard (i8042)");
	else if (rc)
		snprintf(err, n, "%s", strerror(-rc));
	return rc;
}

static int op_flush_metrics(void *opaque, char *err, size_t n)
{
	struct api_service *s = opaque;

	return fc_metrics_write(&s->metrics, s->vm, &s->api, err, n) ? -EIO : 0;
}

static int op_device_control(void *opaque, const char *id, const char *name, const char *args,
			     char *reply, size_t n)
{
	struct api_service *s = opaque;
	int rc;

	if (!s->vm) {
		snprintf(reply, n, "the VM is not running");
		return -ENODEV;
	}
	rc = vm_device_control(s->vm, id, name, args, reply, n);
	if (rc == -ENODEV)
		snprintf(reply, n, "no such device");
	return rc;
}

static json_t *op_devices(void *opaque)
{
	struct api_service *s = opaque;
	json_t *list = json_array();

	for (size_t i = 0; list && s->vm && i < vm_device_count(s->vm); i++) {
		struct vm_device_info info;
		uint64_t values[64];
		uint32_t count;
		json_t *metrics = json_object();

		if (vm_device_info(s->vm, i, &info))
			continue;
		count = vm_device_metrics_read(s->vm, i, values, 64);
		for (uint32_t k = 0; metrics && k < count; k++) {
			const struct ember_metric *d = vm_device_metric(s->vm, i, k);

			if (d)
				json_object_set_new(metrics, d->name,
						    json_integer((json_int_t)values[k]));
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "id", info.id, "plugin",
						      info.plugin, "metrics", metrics));
	}
	return list;
}

static int op_set_logger(void *opaque, json_t *body, char *err, size_t n)
{
	const char *path = json_string_value(json_object_get(body, "log_path"));
	const char *level = json_string_value(json_object_get(body, "level"));

	(void)opaque;
	if (path) {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);

		if (fd < 0) {
			snprintf(err, n, "logger: log_path: %s: %s", path, strerror(errno));
			return -1;
		}
		/* ember's log lines go to fd 2 (log.h): the file takes its place. */
		if (dup2(fd, STDERR_FILENO) < 0) {
			snprintf(err, n, "logger: log_path: %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	}
	if (level) {
		if (!strcasecmp(level, "error") || !strcasecmp(level, "off"))
			log_set_level(LOG_ERROR);
		else if (!strcasecmp(level, "warning") || !strcasecmp(level, "warn"))
			log_set_level(LOG_WARN);
		else if (!strcasecmp(level, "info"))
			log_set_level(LOG_INFO);
		else
			log_set_level(LOG_DEBUG);
	}
	return 0;
}

static int op_set_metrics(void *opaque, json_t *body, char *err, size_t n)
{
	struct api_service *s = opaque;

	return fc_metrics_open(&s->metrics,
			       json_string_value(json_object_get(body, "metrics_path")), err, n);
}

int api_service_apply_files(struct api_service *s, char *err, size_t n)
{
	if (s->api.model.logger && op_set_logger(s, s->api.model.logger, err, n))
		return -1;
	if (s->api.model.metrics && op_set_metrics(s, s->api.model.metrics, err, n))
		return -1;
	return 0;
}

static void on_request(void *opaque, const char *method, const char *path, const char *body,
		       size_t len, struct api_response *r)
{
	struct api_service *s = opaque;

	api_handle(&s->api, method, path, body, len, r);
	if (r->status >= 400)
		log_debug("api: %s %s: %u %s", method, path, r->status, r->body ? r->body : "");
}

int api_service_init(struct api_service *s, const char *instance_id, const char *sock_path,
		     const char *plugin_dir, char *err, size_t n)
{
	static const struct api_ops ops = {
	    .start = op_start,
	    .pause = op_pause,
	    .resume = op_resume,
	    .ctrl_alt_del = op_ctrl_alt_del,
	    .flush_metrics = op_flush_metrics,
	    .device_control = op_device_control,
	    .devices = op_devices,
	    .set_logger = op_set_logger,
	    .set_metrics = op_set_metrics,
	};
	struct api_ops o = ops;

	memset(s, 0, sizeof(*s));
	/*
	 * What libraries would otherwise open lazily, on the first request, under the event-loop
	 * filter (which has no openat): glibc's time zone (libmicrohttpd's Date header) and
	 * jansson's hash seed (/dev/urandom).
	 */
	tzset();
	json_object_seed(0);
	s->metrics_timer = -1;
	s->plugin_dir = plugin_dir;
	fc_metrics_init(&s->metrics);
	o.opaque = s;
	if (api_init(&s->api, instance_id, NULL, &o, have_plugin, s)) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	if (sock_path && http_server_open(&s->http, sock_path, on_request, s, err, n)) {
		api_fini(&s->api);
		return -1;
	}
	return 0;
}

void api_service_fini(struct api_service *s)
{
	http_server_close(s->http);
	s->http = NULL;
	fc_metrics_close(&s->metrics);
	if (s->metrics_timer >= 0)
		close(s->metrics_timer);
	if (s->cfg_loaded)
		vm_config_free(&s->cfg);
	while (s->seen) {
		struct plugin_seen *next = s->seen->next;

		free(s->seen);
		s->seen = next;
	}
	api_fini(&s->api);
}

int api_service_serve_until_start(struct api_service *s)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* vm_run blocks the same set again; what arrives now waits in the signalfd. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -1;
	while (s->api.phase == API_PHASE_CONFIGURING) {
		struct pollfd p[2] = {{.fd = http_server_fd(s->http), .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			close(sfd);
			return -1;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				log_info("stopping before the VM started (%s)",
					 strsignal((int)si.ssi_signo));
			close(sfd);
			return 1;
		}
		if (p[0].revents)
			http_server_run(s->http);
	}
	/* The 204 to InstanceStart goes out now, before the VM is built. */
	http_server_run(s->http);
	close(sfd);
	return 0;
}

static void on_http(void *opaque, int fd, uint32_t events)
{
	struct api_service *s = opaque;

	(void)fd;
	(void)events;
	http_server_run(s->http);
}

static void on_metrics_timer(void *opaque, int fd, uint32_t events)
{
	struct api_service *s = opaque;
	uint64_t ticks;
	char err[256];

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	if (s->metrics.fd >= 0 && fc_metrics_write(&s->metrics, s->vm, &s->api, err, sizeof(err)))
		log_debug("%s", err);
}

static void hook_started(void *opaque, struct vm *vm, struct event_loop *loop)
{
	struct api_service *s = opaque;
	struct itimerspec period = {.it_interval = {FC_METRICS_PERIOD_S, 0},
				    .it_value = {FC_METRICS_PERIOD_S, 0}};

	s->vm = vm;
	s->loop = loop;
	s->api.phase = API_PHASE_RUNNING;
	s->api.paused = false;
	if (s->http) {
		s->http_watch =
		    event_loop_watch(loop, http_server_fd(s->http), EPOLLIN, on_http, s);
		if (!s->http_watch)
			log_error("api: cannot serve on the event loop: %s", strerror(errno));
	}
	if (s->metrics.fd >= 0) {
		s->metrics_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->metrics_timer >= 0 && !timerfd_settime(s->metrics_timer, 0, &period, NULL))
			s->metrics_watch =
			    event_loop_watch(loop, s->metrics_timer, EPOLLIN, on_metrics_timer, s);
		if (!s->metrics_watch)
			log_error("metrics: cannot start the timer: %s", strerror(errno));
	}
}

static void hook_stopping(void *opaque)
{
	struct api_service *s = opaque;
	char err[256];

	/* The last counters, as Firecracker writes them when it ends. */
	if (s->metrics.fd >= 0 && fc_metrics_write(&s->metrics, s->vm, &s->api, err, sizeof(err)))
		log_debug("%s", err);
	if (s->http_watch)
		event_loop_unwatch(s->loop, s->http_watch);
	if (s->metrics_watch)
		event_loop_unwatch(s->loop, s->metrics_watch);
	s->http_watch = s->metrics_watch = NULL;
	s->vm = NULL;
	s->loop = NULL;
}

struct vm_run_hooks api_service_hooks(struct api_service *s, const char *vcpu_thread_prefix)
{
	return (struct vm_run_hooks){
	    .opaque = s,
	    .started = hook_started,
	    .stopping = hook_stopping,
	    .vcpu_thread_prefix = vcpu_thread_prefix,
	    .api_syscalls = s->http != NULL,
	};
}
