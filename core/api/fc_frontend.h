/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Firecracker-compatible front-end: `ember firecracker ARGS` or ember run under the name
 * `firecracker` (a symlink), for the tools that start Firecracker. It takes Firecracker's flags
 * (docs/api.md lists them with what each does here), builds the VM from --config-file or the
 * API's pre-boot requests, and runs it with the API serving the running phase.
 *
 * Exit statuses as Firecracker's: 0, 1 (an error while running), 148 (seccomp violation),
 * 152 (bad configuration), 153 (bad command line); a guest panic or triple fault ends with
 * ember's own statuses (README). Main thread.
 */
#ifndef EMBER_FC_FRONTEND_H
#define EMBER_FC_FRONTEND_H

#define FC_EXIT_BAD_CONFIGURATION 152
#define FC_EXIT_ARG_PARSING	  153

/* argv[0] is the front-end's name (firecracker); returns the process exit status. */
int fc_frontend_main(int argc, char **argv, const char *ember_version);

/* `ember run --api-sock PATH CONFIG`: the libconfig VM with the API for its running phase. */
struct vm_config;
int fc_run_with_api(struct vm_config *cfg, const char *sock_path);

#endif
