/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Paths named in a config file: a relative one means a file beside the config file, so that a
 * config and what it names can move together. Used for boot.kernel, boot.initrd, plugin_dirs
 * and plugin options of type path.
 */
#ifndef EMBER_PATH_H
#define EMBER_PATH_H

#include <stddef.h>

/*
 * path joined to the folder of config_file (unchanged when absolute, or when config_file has no
 * folder part); not canonicalised. malloc'ed; NULL when out of memory.
 */
char *path_resolve(const char *config_file, const char *path);

/*
 * The running executable's folder into out (size bytes), from which ember finds what it installs
 * beside itself (plugins, profiles): /proc/self/exe, or without /proc the absolute path execve
 * was given (AT_EXECFN). Returns 0, or -1 when neither is known or it does not fit.
 */
int path_exe_dir(char *out, size_t size);

#endif
