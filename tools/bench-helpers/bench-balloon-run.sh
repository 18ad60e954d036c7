# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-balloon-run.sh: the measuring half of `tools/bench --balloon`. POSIX
# sh: busybox runs it inside L1 (nested mode) or on the host (direct mode). It boots the same
# 1 vCPU / 512 MiB guest (anonymous RAM) under ember (virtio-balloon plugin) and under QEMU
# -M microvm (virtio-balloon-device), alternating guest by guest, BENCH_RUNS times each, and
# measures from outside how much of the guest's memory the monitor's process gives back to the
# host (VmRSS + HugetlbPages of the process, as tests/e2e/lib.sh's ember_mem_kb):
#   inflate_settle_ms  guest memory all host-backed, balloon target 0 -> 256 MiB (ember: PATCH
#                      /balloon over its API socket with curl; QEMU: the QMP "balloon" command
#                      with bench-qmp): from the request until the monitor's memory settles
#   inflate_mib_s      MiB given back / that time
#   inflate_back_pct   MiB given back / 256 x 100
#   report_settle_ms   a fresh guest with free page reporting frees 200 MiB it had just written:
#                      from its "freed" console line (as seen here) until the memory settles
#   report_back_mib    MiB given back then
# Settled: two readings 200 ms apart within 2 MiB, once the memory fell by 8 MiB, and no fall
# of 2 MiB more in the 3 s after (Linux reports free pages in rounds 2 s apart, and inflates
# 1 MiB per request: a pause of one reading is not the end). The time is that of the first of
# the two readings. Prints BENCH <metric> <ember|qemu> <run> <value>, BENCH-INFO <text>,
# BENCH-END.
# Settings (environment): BENCH_DIR (bench-qmp, balloon-initrd.cpio.gz, nested.sh, bench-vm),
# BENCH_KERNEL, BENCH_EMBER, BENCH_QEMU, BENCH_RUNS, BENCH_TIMEOUT (seconds for a guest to be
# ready, default 900).

dir=$BENCH_DIR
# shellcheck source=SCRIPTDIR/../lib/nested.sh
. "$dir/nested.sh"
work=${TMPDIR:-/tmp}/bench-balloon.$$
mkdir -p "$work"
initrd=$dir/balloon-initrd.cpio.gz
runs=${BENCH_RUNS:-3}
tmo=${BENCH_TIMEOUT:-900}
mem=512
target=256
base_cmdline='console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff'
qemu_opts='x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=on'
qemu_cpu=host

info() { echo "BENCH-INFO $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') [ZX] ' "/proc/$1/stat" 2>/dev/null; }
# over T SECS: more than SECS seconds since T (a now value).
over() { awk -v a="$1" -v b="$(now)" -v l="$2" 'BEGIN { exit !(b - a > l) }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# mem_kb: the guest memory the monitor's process holds now (anonymous RAM: VmRSS, plus
# HugetlbPages, which VmRSS leaves out).
mem_kb() { awk '/^VmRSS:|^HugetlbPages:/ { kb += $2 } END { print kb + 0 }' "/proc/$pid/status" 2>/dev/null; }

nested_hold_vm "$dir/bench-vm" -H
info "L1/host: $(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"

# start MONITOR NAME PHASE: one guest with bench.phase=PHASE in the background; sets pid, sock.
start() {
	m=$1 name=$2
	cmdline="$base_cmdline bench.phase=$3"
	sock=$work/$name.sock
	rm -f "$sock"
	if [ "$m" = ember ]; then
		dev='{ plugin = "virtio-balloon"; id = "balloon"; amount_mib = 0; }'
		[ "$3" = report ] && dev='{ plugin = "virtio-balloon"; id = "balloon"; free_page_reporting = true; }'
		cat >"$work/$name.cfg" <<CFG
machine = { vcpus = 1; memory_mib = $mem; };
boot = { kernel = "$BENCH_KERNEL"; initrd = "$initrd"; cmdline = "$cmdline"; };
devices = ( $dev );
CFG
		"$BENCH_EMBER" run --api-sock "$sock" "$work/$name.cfg" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	else
		dev=virtio-balloon-device
		[ "$3" = report ] && dev=virtio-balloon-device,free-page-reporting=on
		# shellcheck disable=SC2086 # one path; options without spaces
		$BENCH_QEMU -M "microvm,$qemu_opts" -enable-kvm -cpu "$qemu_cpu" -smp 1 -m "$mem" \
			-nodefaults -no-user-config -display none -serial stdio -no-reboot \
			-kernel "$BENCH_KERNEL" -initrd "$initrd" -append "$cmdline" \
			-device "$dev" -qmp "unix:$sock,server=on,wait=off" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
	fi
	pid=$!
}

stop() {
	kill "$pid" 2>/dev/null
	_i=0
	while alive "$pid" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# wait_line WORD SECS: until the console has "BBL WORD"; 1 when the monitor ended or time ran out.
wait_line() {
	_w=$(now)
	while ! grep -q "^BBL $1" "$work/$name.out" 2>/dev/null; do
		alive "$pid" || return 1
		over "$_w" "$2" && return 1
		sleep 0.1
	done
}

# line WORD: the guest's "BBL WORD ..." line.
line() { tr -d '\r' <"$work/$name.out" | grep "^BBL $1" | head -n 1; }

why() { info "$name: $1; stderr: $(tail -n 4 "$work/$name.err" | tr '\n' '|') console: $(tr -d '\r' <"$work/$name.out" | tail -n 6 | tr '\n' '|')"; }

# steady_kb: mem_kb once two readings 200 ms apart are within 2 MiB (at most 10 s).
steady_kb() {
	_p=$(mem_kb)
	_i=0
	while :; do
		sleep 0.2
		_c=$(mem_kb)
		[ $((_p - _c)) -lt 2048 ] && [ $((_c - _p)) -lt 2048 ] && break
		_i=$((_i + 1))
		[ $_i -ge 50 ] && break
		_p=$_c
	done
	echo "$_c"
}

# settle T0 BEFORE SECS: watches mem_kb fall from BEFORE (see the header); sets settle_ms (ms
# from T0; -1 when it did not settle within SECS of T0) and after_kb (the settled reading).
settle() {
	_pt=$(now)
	_p=$(mem_kb)
	_st=''
	while :; do
		sleep 0.2
		_t=$(now)
		_c=$(mem_kb)
		if ! alive "$pid"; then
			settle_ms=-1 after_kb=$_p
			return
		fi
		if [ -n "$_st" ]; then
			if [ $((_sv - _c)) -ge 2048 ]; then
				_st=''
			elif over "$_st" 3; then
				settle_ms=$(ms "$1" "$_st") after_kb=$_c
				return
			fi
		fi
		if [ -z "$_st" ] && [ $(($2 - _c)) -ge 8192 ] && [ $((_p - _c)) -lt 2048 ] && [ $((_c - _p)) -lt 2048 ]; then
			_st=$_pt _sv=$_p
		fi
		if over "$1" "$3"; then
			settle_ms=-1 after_kb=$_c
			return
		fi
		_pt=$_t _p=$_c
	done
}

# boot MONITOR NAME PHASE WORD: start, and wait for the console's "BBL WORD". A guest whose
# monitor ended before (nested, a guest now and then triple-faults while it boots: docs/testing.md)
# is started once more, visibly; 1 when none got there.
boot() {
	start "$1" "$2" "$3"
	wait_line "$4" "$tmo" && return 0
	if alive "$pid"; then
		why "no 'BBL $4' within $tmo s"
		stop
		return 1
	fi
	why "ended before 'BBL $4'; starting it once more"
	stop
	start "$1" "$2-again" "$3"
	wait_line "$4" "$tmo" && return 0
	why "no 'BBL $4' the second time either"
	stop
	return 1
}

# inflate MONITOR RUN: one guest, its memory all host-backed, then the balloon to 256 MiB.
inflate() {
	boot "$1" "$1-inflate-$2" inflate ready || return
	before=$(steady_kb)
	t0=$(now)
	if [ "$1" = ember ]; then
		req=$(curl -sS --max-time 20 --unix-socket "$sock" -X PATCH -H 'Content-Type: application/json' \
			--data-binary "{\"amount_mib\":$target}" -o "$work/$name.req" -w '%{http_code}' \
			http://localhost/balloon 2>&1)
		[ "$req" = 204 ] || req="PATCH /balloon: $req $(cat "$work/$name.req" 2>/dev/null)"
	else
		# QEMU's value is the size the guest keeps, in bytes.
		req=$("$dir/bench-qmp" "$sock" "{\"execute\":\"balloon\",\"arguments\":{\"value\":$(((mem - target) * 1048576))}}" 2>&1) &&
			req=204
	fi
	if [ "$req" != 204 ]; then
		why "the balloon request failed: $req"
		stop
		return
	fi
	settle "$t0" "$before" 180
	back=$((before - after_kb))
	wait_line inflated 20
	info "$name: $(line up | cut -d' ' -f3-); $(line ready | cut -d' ' -f3-); memory $((before / 1024)) -> $((after_kb / 1024)) MiB;" \
		"guest: $(line inflated | cut -d' ' -f3-)"
	if [ "$settle_ms" -ge 0 ]; then
		echo "BENCH inflate_settle_ms $1 $2 $settle_ms"
		echo "BENCH inflate_mib_s $1 $2 $(awk -v k=$back -v t="$settle_ms" 'BEGIN { printf "%.1f", k / 1024 / ((t < 1 ? 1 : t) / 1000) }')"
	else
		why "the memory did not settle within 180 s (fell by $((back / 1024)) MiB)"
	fi
	echo "BENCH inflate_back_pct $1 $2 $(awk -v k=$back -v n=$target 'BEGIN { printf "%.1f", k / 1024 / n * 100 }')"
	stop
}

# report MONITOR RUN: a fresh guest with free page reporting writes 200 MiB and frees it.
report() {
	boot "$1" "$1-report-$2" report filled || return
	before=$(steady_kb)
	grep -q '^BBL freed' "$work/$name.out" && info "$name: the guest freed before the memory was read"
	if ! wait_line freed 60; then
		why "never freed"
		stop
		return
	fi
	t0=$(now)
	settle "$t0" "$before" 60
	back=$((before - after_kb))
	info "$name: $(line up | cut -d' ' -f3-); $(line filled | cut -d' ' -f3-); memory $((before / 1024)) -> $((after_kb / 1024)) MiB"
	if [ "$settle_ms" -ge 0 ]; then
		echo "BENCH report_settle_ms $1 $2 $settle_ms"
	else
		why "the memory did not settle within 60 s (fell by $((back / 1024)) MiB)"
	fi
	echo "BENCH report_back_mib $1 $2 $(awk -v k=$back 'BEGIN { printf "%.1f", k / 1024 }')"
	stop
}

# QEMU's settings: the first that boots the guest with its balloon driver bound (as
# bench-net-run.sh picks them); the probe guest says so and powers off.
qemu_ok=0
for try in "host $qemu_opts" "max $qemu_opts" "max isa-serial=on,acpi=on"; do
	qemu_cpu=${try%% *}
	qemu_opts=${try#* }
	start qemu qemu-probe probe
	wait_line up 300
	stop
	if line up | grep -q 'balloon_driver=yes'; then
		qemu_ok=1
		break
	fi
	why "qemu -cpu $qemu_cpu -M microvm,$qemu_opts: no guest with a balloon driver"
done
if [ $qemu_ok = 1 ]; then
	info "qemu command: $BENCH_QEMU -M microvm,$qemu_opts -enable-kvm -cpu $qemu_cpu -smp 1 -m $mem -nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel $BENCH_KERNEL -initrd $initrd -append \"$base_cmdline bench.phase=inflate|report\" -device virtio-balloon-device[,free-page-reporting=on] -qmp unix:SOCK,server=on,wait=off"
	info "qemu version: $($BENCH_QEMU --version | head -n 1)"
fi
info "ember: $BENCH_EMBER run --api-sock SOCK with devices = ( { plugin = \"virtio-balloon\"; id = \"balloon\"; amount_mib = 0; } ) (report: free_page_reporting = true instead)"
info "per run: inflate to $target MiB (ember, QEMU), then free page reporting of 200 MiB (ember, QEMU), each a fresh $mem MiB guest"

i=1
while [ $i -le "$runs" ]; do
	inflate ember $i
	[ $qemu_ok = 1 ] && inflate qemu $i
	report ember $i
	[ $qemu_ok = 1 ] && report qemu $i
	info "run $i done (load $(cut -d' ' -f1-3 /proc/loadavg))"
	i=$((i + 1))
done
nested_release_vm
rm -rf "$work"
echo BENCH-END
