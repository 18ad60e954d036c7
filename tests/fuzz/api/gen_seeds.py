#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes tests/fuzz/corpus/api/: the API fuzzer's seeds (fuzz_api.c has the input format).

The requests are the clients' own, in their order (docs of firecracker-go-sdk,
firecracker-containerd, flintlock and Kata as the API reference lists them): each request alone
as a seed, each client's whole sequence as one more, and a few error paths. Paths name the files
the fuzzer makes in /tmp/ember-fuzz-api. Run it from anywhere; it replaces the folder's files.
"""
import json
import os
import shutil

D = "/tmp/ember-fuzz-api"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "api")


def r(method, path, body=None, flags=0):
    line = f"{method} {path}" + (f" {flags}" if flags else "")
    text = body if isinstance(body, str) else ("" if body is None else json.dumps(body))
    return line + "\n" + text


START = r("PUT", "/actions", {"action_type": "InstanceStart"})
BOOT = r("PUT", "/boot-source", {"kernel_image_path": f"{D}/vmlinux",
                                 "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"})

go_sdk = [
    r("GET", "/machine-config"),
    r("PUT", "/logger", {"log_path": f"{D}/fc.log", "level": "Debug", "show_level": True,
                         "show_log_origin": True}),
    r("PUT", "/metrics", {"metrics_path": f"{D}/fc.metrics"}),
    r("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": False}),
    r("GET", "/machine-config"),
    BOOT,
    r("PUT", "/drives/1", {"drive_id": "1", "path_on_host": f"{D}/data0.img",
                           "is_root_device": False, "is_read_only": True}),
    r("PUT", "/drives/root_drive", {"drive_id": "root_drive", "path_on_host": f"{D}/rootfs.ext4",
                                    "is_root_device": True, "is_read_only": False,
                                    "rate_limiter": {"bandwidth": {"size": 1048576,
                                                                   "refill_time": 100}}}),
    r("PUT", "/network-interfaces/1", {"iface_id": "1", "host_dev_name": "tap0",
                                       "guest_mac": "06:00:AC:10:00:02",
                                       "rx_rate_limiter": {"ops": {"size": 100,
                                                                   "refill_time": 1000}}}),
    r("PUT", "/vsock", {"vsock_id": "vsock0", "guest_cid": 3, "uds_path": f"{D}/v.sock"}),
    r("PUT", "/mmds/config", {"network_interfaces": ["1"], "version": "V2"}),
    r("PUT", "/balloon", {"amount_mib": 0, "deflate_on_oom": True,
                          "stats_polling_interval_s": 1}),
    r("PUT", "/mmds", {"latest": {"meta-data": {"instance-id": "i-1", "local-ipv4": "10.0.0.2"}}}),
    START,
    r("GET", "/version"),
    r("GET", "/"),
    r("PATCH", "/drives/1", {"drive_id": "1", "path_on_host": f"{D}/data1.img"}),
    r("PATCH", "/network-interfaces/1", {"iface_id": "1", "rx_rate_limiter": {}}),
    r("PATCH", "/balloon", {"amount_mib": 64}),
    r("PATCH", "/balloon/statistics", {"stats_polling_interval_s": 5}),
    r("GET", "/balloon/statistics"),
    r("PATCH", "/vm", {"state": "Paused"}),
    r("PATCH", "/vm", {"state": "Resumed"}),
    r("GET", "/vm/config"),
    r("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
]

containerd = [
    r("GET", "/machine-config"),
    r("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 512, "smt": False}),
    r("PUT", "/boot-source", {"kernel_image_path": f"{D}/vmlinux", "initrd_path": f"{D}/initrd.img",
                              "boot_args": "ro console=ttyS0 noapic reboot=k panic=1 pci=off"}),
    r("PUT", "/drives/MN2HE43UOVRDA", {"drive_id": "MN2HE43UOVRDA",
                                       "path_on_host": f"{D}/data0.img",
                                       "is_root_device": False, "is_read_only": False}),
    r("PUT", "/drives/root_drive", {"drive_id": "root_drive", "path_on_host": f"{D}/rootfs.ext4",
                                    "is_root_device": True, "is_read_only": True,
                                    "partuuid": "0eaa91a0-01"}),
    r("PUT", "/vsock", {"guest_cid": 52, "uds_path": f"{D}/fc.vsock"}),
    r("PUT", "/balloon", {"amount_mib": 16, "deflate_on_oom": True, "stats_polling_interval_s": 0}),
    r("PUT", "/mmds", {"containerd": {"vm": "x"}}),
    START,
    r("PATCH", "/drives/MN2HE43UOVRDA", {"drive_id": "MN2HE43UOVRDA",
                                         "path_on_host": f"{D}/q\"b\\s.img"}),
    r("PATCH", "/mmds", {"containerd": {"vm": None, "task": "t1"}}),
    r("GET", "/mmds"),
    r("PATCH", "/vm", {"state": "Paused"}),
    r("PATCH", "/vm", {"state": "Resumed"}),
]

flintlock_config = {
    "boot-source": {"kernel_image_path": f"{D}/vmlinux", "initrd_path": f"{D}/initrd.img",
                    "boot_args": "console=ttyS0 reboot=k panic=1 i8042.noaux"},
    "drives": [{"drive_id": "root", "path_on_host": f"{D}/rootfs.ext4", "is_root_device": True,
                "is_read_only": False, "cache_type": "Unsafe"}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 2048, "smt": False},
    "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "fltap0",
                            "guest_mac": "AA:FF:00:00:00:01"}],
    "logger": {"log_path": f"{D}/fl.log", "level": "Debug"},
    "metrics": {"metrics_path": f"{D}/fl.metrics"},
    "mmds-config": {"network_interfaces": ["eth0"], "version": "V1"},
}
flintlock = [r("CONFIG-FILE", "-", flintlock_config),
             r("METADATA", "-", {"meta-data": {"instance-id": "fl-1"}, "user-data": "#cloud"})]

kata_config = {
    "boot-source": {"kernel_image_path": f"{D}/vmlinux",
                    "boot_args": "console=hvc0 root=/dev/vda1 rootflags=data=ordered"},
    "drives": [{"drive_id": "rootfs", "path_on_host": f"{D}/rootfs.ext4", "is_root_device": True,
                "is_read_only": True}] +
              [{"drive_id": f"drive_{i}", "path_on_host": f"{D}/data{i % 2}.img",
                "is_root_device": False, "is_read_only": False, "rate_limiter": {}}
               for i in range(8)],
    "machine-config": {"vcpu_count": 1, "mem_size_mib": 2048},
    "vsock": {"guest_cid": 3, "uds_path": f"{D}/kata.hvsock"},
}
kata = [r("CONFIG-FILE", "-", kata_config), r("GET", "/"),
        r("PATCH", "/drives/drive_0", {"drive_id": "drive_0", "path_on_host": f"{D}/data1.img"}),
        r("PATCH", "/drives/drive_1", {"drive_id": "drive_1", "path_on_host": f"{D}/data0.img",
                                       "rate_limiter": {}}),
        r("PUT", "/actions", {"action_type": "SendCtrlAltDel"})]

others = [
    r("PUT", "/entropy", {"rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}}),
    r("PUT", "/ember/devices/pv", {"plugin": "pvpanic", "options": {"port": 1285, "on": True,
                                                                     "ratio": 2.0, "name": "x"}}),
    r("GET", "/ember/devices"),
    r("PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m"}),
    r("PATCH", "/machine-config", {"mem_size_mib": 1024, "huge_pages": "2M"}),
    r("PUT", "/balloon/hinting/start", {}),
]

errors = [
    [BOOT, r("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": f"{D}/rootfs.ext4",
                                       "is_root_device": True}),
     r("PUT", "/actions", {"action_type": "InstanceStart"}, flags=1), START,
     r("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/nope"}, flags=2),
     r("GET", "/balloon/statistics", flags=4), r("GET", "/ember/devices", flags=8),
     r("PATCH", "/vm", {"state": "Paused"}, flags=33)],
    [r("PUT", "/logger", {"level": "Info"}, flags=1), r("PUT", "/network-interfaces/1",
                                                          {"iface_id": "1", "host_dev_name": "t"},
                                                          flags=16),
     r("PUT", "/machine-config", '{"vcpu_count": 1, "vcpu_count": 2}'),
     r("PUT", "/mmds", "[1]"), r("PUT", "/mmds", ""), r("GET", "/\xff"),
     BOOT, r("PUT", "/actions", {"action_type": "InstanceStart"}),
     r("GET", "/", flags=64)],
]

shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
n = 0


def write(name, requests):
    global n
    with open(os.path.join(OUT, f"{n:03d}-{name}"), "wb") as f:
        f.write("\n%%\n".join(requests).encode("utf-8", "surrogateescape"))
    n += 1


for client, seq in (("go-sdk", go_sdk), ("containerd", containerd), ("others", others)):
    for req in seq:
        write(client + "-" + (req.split("\n", 1)[0].split(" ")[1].strip("/").replace("/", "-") or "root"),
              [req])
for client, seq in (("go-sdk", go_sdk), ("containerd", containerd), ("flintlock", flintlock),
                    ("kata", kata)):
    write(client + "-sequence", seq)
for i, seq in enumerate(errors):
    write(f"errors-{i}", seq)
print(f"{n} seeds in {os.path.normpath(OUT)}")
