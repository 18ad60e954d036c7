/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Namespaces and the jail's root: joining a network namespace, entering the jail folder as the
 * root of a new mount namespace (pivot_root), and the device nodes the monitor opens there.
 */
#ifndef EMBER_JAIL_NS_H
#define EMBER_JAIL_NS_H

#include <stddef.h>
#include <sys/types.h>

/* setns(CLONE_NEWNET) into the namespace that path (/var/run/netns/NAME) names. */
int jail_join_netns(const char *path, char *err, size_t err_size);

/*
 * unshare(CLONE_NEWNS); "/" made a recursive slave (nothing propagates back to the host); root
 * bound onto itself; pivot_root into it; the old root detached and removed; chroot("."). When
 * the current root is the initial ramfs, which pivot_root refuses (EINVAL), the bound jail is
 * moved over "/" instead (MS_MOVE, as switch_root does) before the chroot: the host's mounts
 * stay beneath it, out of reach of a process without CAP_SYS_CHROOT, which the monitor lacks.
 */
int jail_enter_root(const char *root, char *err, size_t err_size);

/*
 * Inside the jail: "/", /dev, /dev/net and /run (made 0700 if missing) owned by uid:gid, and
 * the character devices /dev/kvm (10,232), /dev/net/tun (10,200), /dev/urandom (1,9), mode
 * 0600, owned by uid:gid (a node left by an earlier run is replaced).
 */
int jail_make_nodes(uid_t uid, gid_t gid, char *err, size_t err_size);

#endif
