/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's description of a VM (what its API's pre-boot PUTs and its --config-file JSON
 * set), and its one translation into ember's VM description: the libconfig text that
 * vm_config_load_text reads exactly as it reads a VM file. So the API, the JSON file and the
 * libconfig file end in the same struct vm_config, checked by the same code, and nothing about a
 * device is special-cased here beyond naming the plugin and its options.
 *
 * Each section is kept as the JSON the client sent once it passed Firecracker's checks (strict:
 * unknown fields, wrong types and missing required fields are refused), which is also what
 * GET /vm/config answers.
 *
 * Mapping (docs/api.md has the full table):
 *   machine-config   machine = { vcpus; memory_mib; }
 *   boot-source      boot = { kernel; initrd; cmdline; } (+ "root=/dev/vda rw" for the root drive)
 *   drives[]         virtio-blk, id = drive_id (the root drive first, so it is /dev/vda)
 *   network-ifaces[] virtio-net, id = "net-" iface_id (FC_NET_ID_PREFIX: clients reuse drive ids)
 *   vsock            virtio-vsock, id "vsock";  balloon: virtio-balloon, id "balloon"
 *   entropy          virtio-rng, id "entropy"
 *   ember-devices[]  any plugin: { id, plugin, options { ... } }
 *
 * Errors: one line in err, worded as Firecracker's fault_message is (the section, the field).
 * Threads: main thread only; not thread-safe.
 */
#ifndef EMBER_FC_MODEL_H
#define EMBER_FC_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ember's id for interface X: drives and interfaces share no id space in Firecracker. */
#define FC_NET_ID_PREFIX "net-"

/* Answers whether a plugin of that name can be loaded (it is in one of ember's plugin folders). */
typedef bool (*fc_have_plugin_fn)(void *opaque, const char *plugin);

struct fc_model {
	json_t *machine; /* always set: Firecracker's defaults until a PUT */
	json_t *boot;	 /* NULL until PUT /boot-source */
	json_t *drives;	 /* array, in the order first PUT; a PUT with the same id replaces */
	json_t *nets;	 /* array */
	json_t *vsock, *balloon, *entropy, *logger, *metrics, *mmds_config; /* NULL: not set */
	json_t *mmds;	       /* the metadata store (an object), NULL until set */
	json_t *ember_devices; /* array of { id, plugin, options } */
	fc_have_plugin_fn have_plugin;
	void *have_plugin_opaque;
};

int fc_model_init(struct fc_model *m, fc_have_plugin_fn have_plugin, void *opaque);
void fc_model_free(struct fc_model *m);

/*
 * The sections, each from a request body (or the JSON file's member). patch: PATCH semantics
 * (only the fields given change; machine-config only). id: the {id} of the path, which must
 * equal the body's id field. Return 0, or -1 with the reason in err.
 */
int fc_model_set_machine(struct fc_model *m, json_t *body, bool patch, char *err, size_t n);
int fc_model_set_boot(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_drive(struct fc_model *m, const char *id, json_t *body, char *err, size_t n);
int fc_model_set_net(struct fc_model *m, const char *id, json_t *body, char *err, size_t n);
int fc_model_set_vsock(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_balloon(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_entropy(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_logger(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_metrics(struct fc_model *m, json_t *body, char *err, size_t n);
int fc_model_set_mmds_config(struct fc_model *m, json_t *body, char *err, size_t n);
/* PUT replaces the store, PATCH merges into it (RFC 7396: null removes a key). */
int fc_model_set_mmds(struct fc_model *m, json_t *body, bool patch, char *err, size_t n);
int fc_model_set_ember_device(struct fc_model *m, const char *id, json_t *body, char *err,
			      size_t n);

/* Validates a Rate limiter object ({bandwidth?, ops?}, each {size, refill_time, one_time_burst?}).
 */
int fc_rate_limiter_check(json_t *rl, const char *what, char *err, size_t n);

/* The --config-file JSON: every kebab-case section, in the order a boot needs them. */
int fc_model_load_json(struct fc_model *m, json_t *root, char *err, size_t n);

/*
 * ember's VM description for the model, as libconfig text (malloc'd; the caller frees), or NULL
 * with err ("boot-source: not set", out of memory). Relative paths are made absolute against
 * the working folder, as Firecracker opens them.
 */
char *fc_model_libconfig(const struct fc_model *m, char *err, size_t n);

/* GET /vm/config: a new reference to the whole configuration. */
json_t *fc_model_vm_config(const struct fc_model *m);

/* jansson's unpack error as one line: "SECTION: unknown field(s): x", "SECTION: x: required". */
void fc_unpack_error(const json_error_t *e, const char *what, char *err, size_t n);

/* The id rule Firecracker applies to drive and interface ids: [A-Za-z0-9_]+, at most 32. */
bool fc_id_ok(const char *id);

#endif
