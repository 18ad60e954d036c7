# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-blk-run.sh: the measuring half of `tools/bench --blk`. POSIX sh:
# busybox runs it inside L1 (nested mode) or on the host (direct mode). It makes one prefilled
# raw image, then boots the same guest (its /test.sh runs blkperf on /dev/vda) under ember
# (virtio-blk plugin, cache writeback) and under QEMU -M microvm (virtio-blk-device,
# aio=io_uring, cache=writeback), alternating, all on that image, and prints:
#   BENCH <metric> <ember|qemu> <run> <value> [extra]
#   BENCH-INFO <text>          BENCH-END
# Settings (environment): BENCH_DIR (bench-vm, blkperf, blk-initrd.cpio.gz), BENCH_KERNEL,
# BENCH_EMBER, BENCH_QEMU, BENCH_RUNS (runs per monitor), BENCH_BLK_SECS (seconds per blkperf
# test), BENCH_BLK_MIB (image size), BENCH_BLK_MEM (guest MiB), BENCH_TIMEOUT (seconds per run
# on top of the tests' own time).

dir=$BENCH_DIR
# nested_hold_vm (tools/lib/nested.sh, copied here by tools/bench).
# shellcheck source=SCRIPTDIR/../lib/nested.sh
. "$dir/nested.sh"
vm=$dir/bench-vm
work=${TMPDIR:-/tmp}/bench-blk.$$
mkdir -p "$work"
initrd=$dir/blk-initrd.cpio.gz
runs=${BENCH_RUNS:-3}
secs=${BENCH_BLK_SECS:-5}
mib=${BENCH_BLK_MIB:-256}
mem=${BENCH_BLK_MEM:-256}
tmo=$((${BENCH_TIMEOUT:-180} + 6 * secs))
img=$work/disk.img
cmdline='console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff'
qemu_opts='x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=on'
qemu_cpu=host

info() { echo "BENCH-INFO $*"; }
why() {
	info "$1: $2; stderr: $(tail -n 4 "$work/$1.err" 2>/dev/null | tr '\n' '|')"
	info "$1: console: $(tr -d '\r' <"$work/$1.out" 2>/dev/null | tail -n 6 | tr '\n' '|')"
}

# One KVM VM held for the whole run (bench-vm -H; in L1, /init's), as bench-run.sh does.
nested_hold_vm "$vm" -H

info "L1/host: $(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
t=$(cut -d' ' -f1 /proc/uptime)
if ! "$dir/blkperf" -f "$img" -s "$mib"; then
	info "cannot create the image $img"
	echo BENCH-END
	exit 1
fi
info "image: $img, $mib MiB raw, prefilled with a pseudo-random pattern in $(awk -v a="$t" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s; file system $(awk -v d="$(dirname "$img")" '$2 == d || $2 == "/" { f = $3 } END { print f }' /proc/mounts) (the image lives in RAM / page cache)"

cat >"$work/blk.cfg" <<EOF
machine = { vcpus = 1; memory_mib = $mem; };
boot = {
  kernel = "$BENCH_KERNEL";
  initrd = "$initrd";
  cmdline = "$cmdline bench.secs=SECS";
};
devices = ( { plugin = "virtio-blk"; path = "$img"; cache = "writeback"; } );
EOF

# ember_cfg SECS: the config for tests of SECS seconds.
ember_cfg() { sed "s/bench.secs=SECS/bench.secs=$1/" "$work/blk.cfg" >"$work/blk-$1.cfg"; }

# run_ember NAME SECS / run_qemu NAME SECS: one guest; console in NAME.out. Prints bench-vm's line.
run_ember() {
	ember_cfg "$2"
	"$vm" -K -t "$tmo" -m BLKPERF-END -e "$work/$1.err" -o "$work/$1.out" -- \
		"$BENCH_EMBER" run "$work/blk-$2.cfg"
}
run_qemu() {
	# shellcheck disable=SC2086 # $BENCH_QEMU is one path; $qemu_opts and $qemu_cpu hold no spaces
	"$vm" -K -t "$tmo" -m BLKPERF-END -e "$work/$1.err" -o "$work/$1.out" -- \
		$BENCH_QEMU -M "microvm,$qemu_opts" -enable-kvm -cpu "$qemu_cpu" -smp 1 -m "$mem" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$BENCH_KERNEL" -initrd "$initrd" -append "$cmdline bench.secs=$2" \
		-drive "file=$img,if=none,id=d0,format=raw,aio=io_uring,cache=writeback" \
		-device virtio-blk-device,drive=d0
}

# report MONITOR RUN: BENCH lines from NAME.out's BLKPERF lines (4K: IOPS, 128K: MiB/s; latency).
report() {
	tr -d '\r' <"$work/$1-$2.out" | awk -v m="$1" -v r="$2" '
		$1 == "BLKPERF" {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			name = v["test"]; gsub("-", "_", name)
			if (v["bs"] == 4096) printf "BENCH %s_iops %s %s %s mib_s=%s\n", name, m, r, v["iops"], v["mib_s"]
			else printf "BENCH %s_mib_s %s %s %s iops=%s\n", name, m, r, v["mib_s"], v["iops"]
			printf "BENCH %s_lat_us %s %s %s lat_max_us=%s ios=%s\n", name, m, r, v["lat_us"], v["lat_max_us"], v["ios"]
		}'
	tr -d '\r' <"$work/$1-$2.out" | grep -q '^BLKPERF-OK' || why "$1-$2" "blkperf did not finish cleanly"
}

# Warm-up runs (1 s tests, not counted): page cache for the binaries, and QEMU's settings (the
# fastest that reach the guest's tests, as tools/bench-helpers/bench-run.sh picks them).
r=$(run_ember ember-warm 1)
if tr -d '\r' <"$work/ember-warm.out" | grep -q '^BLKPERF-OK'; then
	info "guest under ember: $(tr -d '\r' <"$work/ember-warm.out" | grep '^BLKINFO' | head -n 1)"
else
	why ember-warm "ember's guest did not finish blkperf ($r)"
fi
qemu_ok=0
for try in "host $qemu_opts" "host isa-serial=on,acpi=on" "max $qemu_opts" "max isa-serial=on,acpi=on"; do
	qemu_cpu=${try%% *}
	qemu_opts=${try#* }
	r=$(run_qemu qemu-warm 1)
	if tr -d '\r' <"$work/qemu-warm.out" | grep -q '^BLKPERF-OK'; then
		qemu_ok=1
		break
	fi
	why qemu-warm "-cpu $qemu_cpu -M microvm,$qemu_opts did not finish blkperf ($r)"
done
if [ $qemu_ok = 1 ]; then
	info "guest under qemu: $(tr -d '\r' <"$work/qemu-warm.out" | grep '^BLKINFO' | head -n 1)"
	info "qemu command: $BENCH_QEMU -M microvm,$qemu_opts -enable-kvm -cpu $qemu_cpu -smp 1 -m $mem" \
		"-nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $BENCH_KERNEL" \
		"-initrd $initrd -append \"$cmdline bench.secs=$secs\"" \
		"-drive file=$img,if=none,id=d0,format=raw,aio=io_uring,cache=writeback -device virtio-blk-device,drive=d0"
	info "qemu version: $($BENCH_QEMU --version | head -n 1)"
else
	info "qemu: no setting ran the guest's blkperf; QEMU figures are missing"
fi
info "ember command: $BENCH_EMBER run blk.cfg: $(grep -v '^ *$' "$work/blk-1.cfg" | tr '\n' ' ')"
info "blkperf: $secs s per test, 6 tests per guest, $runs runs per monitor, alternating"

i=1
while [ "$i" -le "$runs" ]; do
	r=$(run_ember "ember-$i" "$secs")
	report ember "$i"
	info "ember run $i done (L1 load $(cut -d' ' -f1-3 /proc/loadavg))"
	if [ $qemu_ok = 1 ]; then
		r=$(run_qemu "qemu-$i" "$secs")
		report qemu "$i"
		info "qemu run $i done (L1 load $(cut -d' ' -f1-3 /proc/loadavg))"
	fi
	i=$((i + 1))
done
info "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
nested_release_vm
rm -rf "$work"
echo BENCH-END
