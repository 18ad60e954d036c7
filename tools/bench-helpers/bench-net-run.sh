# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-net-run.sh: the measuring half of `tools/bench --net`. POSIX sh:
# busybox runs it inside L1 (nested mode) or on the host (direct mode). It boots the same guest
# under ember (virtio-net plugin) and under QEMU -M microvm (virtio-net-device with -netdev tap,
# vhost=off, and again with vhost=on), alternating, two guests each, all on one tap at
# 169.254.50.1/24 with tests/e2e/net-test.c's server behind it; the guest measures, BENCH_RUNS
# times:
#   g2h_1_mbps / g2h_4_mbps   BENCH_NET_MIB MiB guest -> host over 1 / 4 TCP streams
#   h2g_1_mbps / h2g_4_mbps   the same host -> guest
#   rr_per_s                  1-byte TCP request/response round trips per second (5 s)
# Prints BENCH <metric> <ember|qemu> <run> <value> (QEMU with vhost=on as <metric>_vhost, next to
# ember's figure under the same name), BENCH-INFO <text>, BENCH-END.
# Settings (environment): BENCH_DIR (net-test, net-initrd.cpio.gz, nested.sh, bench-vm),
# BENCH_KERNEL, BENCH_EMBER, BENCH_QEMU, BENCH_RUNS, BENCH_NET_MIB (default 64), BENCH_TIMEOUT
# (seconds per guest, default 900).

dir=$BENCH_DIR
# shellcheck source=SCRIPTDIR/../lib/nested.sh
. "$dir/nested.sh"
nt=$dir/net-test
work=${TMPDIR:-/tmp}/bench-net.$$
mkdir -p "$work"
initrd=$dir/net-initrd.cpio.gz
runs=${BENCH_RUNS:-3}
mib=${BENCH_NET_MIB:-64}
tmo=${BENCH_TIMEOUT:-900}
mem=512
mac=02:00:00:00:32:02
tap=bnt$$
base_cmdline="console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff bench.runs=$runs bench.mib=$mib"
qemu_opts='x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=on'
qemu_cpu=host

info() { echo "BENCH-INFO $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') [ZX] ' "/proc/$1/stat"; }

nested_hold_vm "$dir/bench-vm" -H
info "L1/host: $(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$nt" mktap "$tap" || { info "cannot make tap $tap"; echo BENCH-END; exit 0; }
ip link set "$tap" up && ip addr add 169.254.50.1/24 dev "$tap"
srv=$("$nt" serve 5201 --log /dev/null --background)

# one MONITOR NAME [vhost]: one guest; prints its BENCH lines.
one() {
	m=$1 name=$2 vhost=${3:-off}
	if [ "$m" = ember ]; then
		cat >"$work/$name.cfg" <<CFG
machine = { vcpus = 1; memory_mib = $mem; };
boot = { kernel = "$BENCH_KERNEL"; initrd = "$initrd"; cmdline = "$base_cmdline"; };
devices = ( { plugin = "virtio-net"; tap = "$tap"; mac = "$mac"; } );
CFG
		"$BENCH_EMBER" run "$work/$name.cfg" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	else
		# shellcheck disable=SC2086 # one path; options without spaces
		$BENCH_QEMU -M "microvm,$qemu_opts" -enable-kvm -cpu "$qemu_cpu" -smp 1 -m "$mem" \
			-nodefaults -no-user-config -display none -serial stdio -no-reboot \
			-kernel "$BENCH_KERNEL" -initrd "$initrd" -append "$base_cmdline" \
			-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=$vhost" \
			-device "virtio-net-device,netdev=n0,mac=$mac" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	fi
	pid=$!
	_t=$(now)
	while alive "$pid"; do
		if awk -v a="$_t" -v b="$(now)" -v l="$tmo" 'BEGIN { exit !(b - a > l) }'; then
			kill -KILL "$pid"
			info "$name: killed after $tmo s"
			break
		fi
		sleep 0.5
	done
	wait "$pid" 2>/dev/null
	tr -d '\r' <"$work/$name.out" | grep -q '^BNT guest-done' ||
		info "$name: did not finish; stderr: $(tail -n 4 "$work/$name.err" | tr '\n' '|') console: $(tr -d '\r' <"$work/$name.out" | tail -n 6 | tr '\n' '|')"
	# BNT <metric> <run> <net-test's summary line>: the value is its mbps= or per_sec=.
	tr -d '\r' <"$work/$name.out" | awk -v m="$m" -v vh="$vhost" '
		$1 == "BNT" && NF > 3 {
			v = ""
			for (i = 4; i <= NF; i++) if ($i ~ /^(mbps|per_sec)=/) { split($i, kv, "="); v = kv[2] }
			if ($4 == "NET-TEST" && $5 != "ok") v = ""
			if (v == "") { printf "BENCH-INFO %s run %s failed: %s\n", $2, $3, $0; next }
			if (m == "ember") {
				printf "BENCH %s ember %s %s\n", $2, $3, v
				printf "BENCH %s_vhost ember %s %s\n", $2, $3, v
			} else if (vh == "on") {
				printf "BENCH %s_vhost qemu %s %s\n", $2, $3, v
			} else {
				printf "BENCH %s qemu %s %s\n", $2, $3, v
			}
		}'
	return 0
}

# QEMU's settings: the first that gets the guest's side done (as bench-vsock-run.sh picks them).
qemu_ok=0
for try in "host $qemu_opts" "max $qemu_opts" "max isa-serial=on,acpi=on"; do
	qemu_cpu=${try%% *}
	qemu_opts=${try#* }
	base_save=$base_cmdline
	base_cmdline="console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff bench.runs=1 bench.mib=1"
	one qemu qemu-warm >"$work/qemu-warm.bench"
	base_cmdline=$base_save
	if grep -q '^BENCH g2h_1_mbps' "$work/qemu-warm.bench"; then
		qemu_ok=1
		break
	fi
	info "qemu -cpu $qemu_cpu -M microvm,$qemu_opts: the guest's network test did not run"
	sed 's/^BENCH /BENCH-INFO warm-up: /' "$work/qemu-warm.bench"
done
[ -e /dev/vhost-net ] || info "no /dev/vhost-net here (module vhost_net): no vhost=on figures"
if [ $qemu_ok = 1 ]; then
	info "qemu command: $BENCH_QEMU -M microvm,$qemu_opts -enable-kvm -cpu $qemu_cpu -smp 1 -m $mem -nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $BENCH_KERNEL -initrd $initrd -append \"$base_cmdline\" -netdev tap,id=n0,ifname=TAP,script=no,downscript=no,vhost=off|on -device virtio-net-device,netdev=n0,mac=$mac"
	info "qemu version: $($BENCH_QEMU --version | head -n 1)"
fi
info "ember: $BENCH_EMBER run with devices = ( { plugin = \"virtio-net\"; tap = \"TAP\"; mac = \"$mac\"; } )"
info "per guest: $runs x (1 and 4 streams of $mib MiB in all each way, 5 s of 1-byte round trips); 2 guests per monitor, alternating"

for round in 1 2; do
	one ember "ember-$round" | sed "s/^\(BENCH [a-z0-9_]* ember \)/\1$round./"
	info "ember guest $round done (load $(cut -d' ' -f1-3 /proc/loadavg))"
	if [ $qemu_ok = 1 ]; then
		one qemu "qemu-$round" off | sed "s/^\(BENCH [a-z0-9_]* qemu \)/\1$round./"
		info "qemu vhost=off guest $round done (load $(cut -d' ' -f1-3 /proc/loadavg))"
		if [ -e /dev/vhost-net ]; then
			one qemu "qemu-vhost-$round" on | sed "s/^\(BENCH [a-z0-9_]* qemu \)/\1$round./"
			info "qemu vhost=on guest $round done (load $(cut -d' ' -f1-3 /proc/loadavg))"
		fi
	fi
done
kill "$srv" 2>/dev/null
"$nt" rmtap "$tap"
nested_release_vm
rm -rf "$work"
echo BENCH-END
