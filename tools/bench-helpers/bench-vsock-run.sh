# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-vsock-run.sh: the measuring half of `tools/bench --vsock`. POSIX sh:
# busybox runs it inside L1 (nested mode) or on the host (direct mode). It boots the same guest
# under ember (virtio-vsock plugin, Firecracker's hybrid Unix-socket host side) and under QEMU
# -M microvm (vhost-vsock-device: the kernel's vhost, AF_VSOCK on the host side), alternating,
# two guests each, and with tests/e2e/vsock-test.c at both ends measures, BENCH_RUNS times in
# each guest:
#   g2h_mbps / h2g_mbps               one stream of BENCH_VSOCK_MIB MiB, guest -> host / host -> guest
#   g2h_conn_per_s / h2g_conn_per_s   sequential connections (connect, 1 byte each way, close)
# The guest measures its direction first, then the host measures its own, so the two never run
# at once. Prints BENCH <metric> <ember|qemu> <run> <value>, BENCH-INFO <text>, BENCH-END.
# Settings (environment): BENCH_DIR (vsock-test, vsock-initrd.cpio.gz, nested.sh, bench-vm),
# BENCH_KERNEL, BENCH_EMBER, BENCH_QEMU, BENCH_RUNS, BENCH_VSOCK_MIB (default 64),
# BENCH_VSOCK_CONNS (200), BENCH_TIMEOUT (seconds per guest, default 600).

dir=$BENCH_DIR
# shellcheck source=SCRIPTDIR/../lib/nested.sh
. "$dir/nested.sh"
vt=$dir/vsock-test
work=${TMPDIR:-/tmp}/bench-vsock.$$
mkdir -p "$work"
initrd=$dir/vsock-initrd.cpio.gz
runs=${BENCH_RUNS:-3}
mib=${BENCH_VSOCK_MIB:-64}
conns=${BENCH_VSOCK_CONNS:-200}
tmo=${BENCH_TIMEOUT:-600}
mem=256
base_cmdline='console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff'
qemu_opts='x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=on'
qemu_cpu=host
uds=$work/v.sock

info() { echo "BENCH-INFO $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') [ZX] ' "/proc/$1/stat"; }

nested_hold_vm "$dir/bench-vm" -H
info "L1/host: $(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"

# wait_console NAME PATTERN SECS: until NAME.out has PATTERN; 1 when the monitor ended or time ran out.
wait_console() {
	_t=$(now)
	while ! tr -d '\r' <"$work/$1.out" 2>/dev/null | grep -q "$2"; do
		alive "$pid" || return 1
		awk -v a="$_t" -v b="$(now)" -v l="$3" 'BEGIN { exit !(b - a > l) }' && return 1
		sleep 0.2
	done
	return 0
}

# one MONITOR NAME RUNS MIB CONNS: one guest under MONITOR (ember_side/qemu_side set the host's
# addresses); prints its BENCH lines (run numbers 1..RUNS).
one() {
	m=$1 name=$2 n=$3 size=$4 count=$5
	cmdline="$base_cmdline bench.runs=$n bench.mib=$size bench.conns=$count"
	rm -f "$uds" "$uds"_* "$work/$name.host"
	# --background returns once the server listens.
	s1=$("$vt" serve "$l1_sink" --sink --log /dev/null --background)
	s2=$("$vt" serve "$l1_echo" --log /dev/null --background)
	if [ "$m" = ember ]; then
		cat >"$work/$name.cfg" <<EOF
machine = { vcpus = 1; memory_mib = $mem; };
boot = { kernel = "$BENCH_KERNEL"; initrd = "$initrd"; cmdline = "$cmdline"; };
devices = ( { plugin = "virtio-vsock"; guest_cid = 3; uds_path = "$uds"; } );
EOF
		"$BENCH_EMBER" run "$work/$name.cfg" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	else
		# shellcheck disable=SC2086 # one path; options without spaces
		$BENCH_QEMU -M "microvm,$qemu_opts" -enable-kvm -cpu "$qemu_cpu" -smp 1 -m "$mem" \
			-nodefaults -no-user-config -display none -serial stdio -no-reboot \
			-kernel "$BENCH_KERNEL" -initrd "$initrd" -append "$cmdline" \
			-device vhost-vsock-device,guest-cid=3 </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	fi
	pid=$!
	ok=1
	wait_console "$name" '^BVS guest-done' "$tmo" || ok=0
	info "$name: the guest's side $([ $ok = 1 ] && echo done || echo 'did not finish') after $(awk -v a="$_t" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') s"
	if [ $ok = 1 ]; then
		i=1
		while [ "$i" -le "$n" ]; do
			echo "BVS h2g_mbps $i $("$vt" client "$h2g_sink" --bytes $((size * 1048576)) --sink --timeout 300 | tail -n 1)" >>"$work/$name.host"
			echo "BVS h2g_conn_per_s $i $("$vt" rate "$h2g_echo" --conns "$count" --timeout 300)" >>"$work/$name.host"
			i=$((i + 1))
		done
	fi
	# The guest polls port 5109 until this listener exists, then powers off.
	s3=$("$vt" serve "$l1_done" --sink --log /dev/null --background)
	_t=$(now)
	while alive "$pid"; do
		if awk -v a="$_t" -v b="$(now)" 'BEGIN { exit !(b - a > 60) }'; then
			kill -KILL "$pid"
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null
	# Gone before the next guest's servers bind the same addresses.
	kill "$s1" "$s2" "$s3" 2>/dev/null
	for s in $s1 $s2 $s3; do
		i=0
		while alive "$s" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	done
	[ $ok = 1 ] || info "$name: stderr: $(tail -n 4 "$work/$name.err" | tr '\n' '|') console: $(tr -d '\r' <"$work/$name.out" | tail -n 6 | tr '\n' '|')"
	# BVS <metric> <run> <vsock-test's summary line>: the value is its mbps= or per_sec=.
	{
		tr -d '\r' <"$work/$name.out"
		cat "$work/$name.host" 2>/dev/null
	} | awk -v m="$m" '
		$1 == "BVS" && NF > 3 {
			v = ""
			for (i = 4; i <= NF; i++) if ($i ~ /^(mbps|per_sec)=/) { split($i, kv, "="); v = kv[2] }
			if ($5 != "ok") v = ""
			if (v != "") printf "BENCH %s %s %s %s\n", $2, m, $3, v
			else printf "BENCH-INFO %s run %s failed: %s\n", $2, $3, $0
		}'
	return 0
}

ember_side() {
	l1_sink=unix:${uds}_5100 l1_echo=unix:${uds}_5101 l1_done=unix:${uds}_5109
	h2g_sink=hybrid:$uds:5000 h2g_echo=hybrid:$uds:5001
}
qemu_side() {
	l1_sink=vsock:5100 l1_echo=vsock:5101 l1_done=vsock:5109
	h2g_sink=vsock:3:5000 h2g_echo=vsock:3:5001
}

# QEMU's settings: the first that gets the guest's side done (as bench-blk-run.sh picks them).
qemu_side
qemu_ok=0
if [ ! -e /dev/vhost-vsock ]; then
	info "qemu: no /dev/vhost-vsock here (module vhost_vsock): QEMU figures are missing"
else
	for try in "host $qemu_opts" "host isa-serial=on,acpi=on" "max $qemu_opts" "max isa-serial=on,acpi=on"; do
		qemu_cpu=${try%% *}
		qemu_opts=${try#* }
		one qemu qemu-warm 1 1 2 >"$work/qemu-warm.bench"
		if grep -q '^BENCH g2h_mbps' "$work/qemu-warm.bench"; then
			qemu_ok=1
			break
		fi
		info "qemu -cpu $qemu_cpu -M microvm,$qemu_opts: the guest's vsock test did not run"
		sed 's/^BENCH /BENCH-INFO warm-up: /' "$work/qemu-warm.bench"
	done
fi
if [ $qemu_ok = 1 ]; then
	info "qemu command: $BENCH_QEMU -M microvm,$qemu_opts -enable-kvm -cpu $qemu_cpu -smp 1 -m $mem -nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $BENCH_KERNEL -initrd $initrd -append \"$base_cmdline bench.runs=$runs bench.mib=$mib bench.conns=$conns\" -device vhost-vsock-device,guest-cid=3"
	info "qemu version: $($BENCH_QEMU --version | head -n 1)"
fi
info "ember: $BENCH_EMBER run with devices = ( { plugin = \"virtio-vsock\"; guest_cid = 3; uds_path = \"$uds\"; } )"
info "per guest: $runs x (one $mib MiB stream, $conns sequential connections) per direction; 2 guests per monitor, alternating"

for round in 1 2; do
	ember_side
	one ember "ember-$round" "$runs" "$mib" "$conns" | sed "s/^\(BENCH [a-z0-9_]* ember \)/\1$round./"
	info "ember guest $round done (load $(cut -d' ' -f1-3 /proc/loadavg))"
	if [ $qemu_ok = 1 ]; then
		qemu_side
		one qemu "qemu-$round" "$runs" "$mib" "$conns" | sed "s/^\(BENCH [a-z0-9_]* qemu \)/\1$round./"
		info "qemu guest $round done (load $(cut -d' ' -f1-3 /proc/loadavg))"
	fi
done
nested_release_vm
rm -rf "$work"
echo BENCH-END
