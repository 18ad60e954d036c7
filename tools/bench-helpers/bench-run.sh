# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-run.sh: the measuring half of tools/bench. POSIX sh: busybox runs it
# inside L1 (nested mode) or on the host (direct mode). It boots the same guest with ember and
# with QEMU -M microvm, alternating, and prints one line per sample:
#   BENCH <metric> <ember|qemu> <run> <value> [extra]
#   BENCH-INFO <text>          BENCH-END
# Settings (environment): BENCH_DIR (this folder: bench-vm, bench-api, initrd.cpio.gz), BENCH_KERNEL,
# BENCH_EMBER, BENCH_QEMU (qemu-system-x86_64), BENCH_RUNS, BENCH_MANY (guests at once),
# BENCH_MANY_MIB, BENCH_MANY_RUNS, BENCH_MEM_SAMPLES, BENCH_TIMEOUT (seconds per run),
# BENCH_PHASES (any of "boot mem many"; default all).

dir=$BENCH_DIR
# nested_hold_vm (tools/lib/nested.sh, copied here by tools/bench).
# shellcheck source=SCRIPTDIR/../lib/nested.sh
. "$dir/nested.sh"
vm=$dir/bench-vm
work=${TMPDIR:-/tmp}/bench-work.$$
mkdir -p "$work"
initrd=$dir/initrd.cpio.gz
runs=${BENCH_RUNS:-5}
many=${BENCH_MANY:-8}
many_mib=${BENCH_MANY_MIB:-96}
many_runs=${BENCH_MANY_RUNS:-3}
samples=${BENCH_MEM_SAMPLES:-5}
tmo=${BENCH_TIMEOUT:-180}
many_tmo=$((tmo + 60))
cmdline='console=ttyS0 reboot=k panic=-1 pci=off quiet ember.end=poweroff'
qemu_opts='x-option-roms=off,pit=off,pic=off,rtc=off,isa-serial=on,acpi=on'
qemu_cpu=host

phases=${BENCH_PHASES:-boot mem many}

info() { echo "BENCH-INFO $*"; }
# why NAME WHAT [SUFFIX]: say that run NAME failed, with the ends of its stderr and console
# (files NAME.err/NAME.out, or NAME.err.0/NAME.out.0 for copy 0 with SUFFIX .0).
why() {
	info "$1: $2; stderr: $(tail -n 4 "$work/$1.err${3:-}" 2>/dev/null | tr '\n' '|')"
	info "$1: console: $(tr -d '\r' <"$work/$1.out${3:-}" 2>/dev/null | tail -n 6 | tr '\n' '|')"
}
phase() { case " $phases " in *" $1 "*) return 0 ;; esac; return 1; }

# ember_cfg NAME MIB EXTRA-CMDLINE: a config for 1 vCPU.
ember_cfg() {
	cat >"$work/$1.cfg" <<EOF
machine = { vcpus = 1; memory_mib = $2; };
boot = {
  kernel = "$BENCH_KERNEL";
  initrd = "$initrd";
  cmdline = "$cmdline $3";
};
devices = ( );
EOF
}

# qemu_cmd MIB: the QEMU command line as run_qemu runs it, without -append (for the record).
qemu_cmd() {
	echo "$BENCH_QEMU -M microvm,$qemu_opts -enable-kvm -cpu $qemu_cpu -smp 1 -m $1" \
		"-nodefaults -no-user-config -display none -serial stdio -no-reboot" \
		"-kernel $BENCH_KERNEL -initrd $initrd"
}

# run_qemu MIB EXTRA-CMDLINE BENCH-VM-OPTIONS...: bench-vm running QEMU (1 vCPU, MIB MiB).
run_qemu() {
	_mib=$1 _extra=$2
	shift 2
	# shellcheck disable=SC2086 # $BENCH_QEMU is one path; $qemu_opts and $qemu_cpu hold no spaces
	"$vm" "$@" -- $BENCH_QEMU -M "microvm,$qemu_opts" -enable-kvm -cpu "$qemu_cpu" -smp 1 -m "$_mib" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$BENCH_KERNEL" -initrd "$initrd" -append "$cmdline $_extra"
}

# value KEY LINE: the value of KEY=... in LINE.
value() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# One KVM VM held for the whole run (see bench-vm -H; in L1, /init's): creating and destroying
# the measured VMs then never patches the kernel's text, which an L1 under QEMU's software CPU
# may not survive.
nested_hold_vm "$vm" -H

ember_cfg boot 128 ''
ember_cfg idle 128 'bench.idle=1'
ember_cfg many "$many_mib" ''

info "L1/host: $(grep -c ^processor /proc/cpuinfo) CPUs, $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"

# QEMU's settings: the fastest that boot the guest here (checked once; also a warm-up run).
qemu_ok=0
for try in "host $qemu_opts" "host isa-serial=on,acpi=on" "max $qemu_opts" "max isa-serial=on,acpi=on"; do
	qemu_cpu=${try%% *}
	qemu_opts=${try#* }
	r=$(run_qemu 128 '' -K -t "$tmo" -e "$work/qemu-probe.err" -o "$work/qemu-probe.out")
	if [ "$(value marker_ms "$r")" != "-1.0" ]; then
		qemu_ok=1
		break
	fi
	why qemu-probe "-cpu $qemu_cpu -M microvm,$qemu_opts did not reach init"
done
if [ $qemu_ok = 1 ]; then
	info "qemu command: $(qemu_cmd 128) -append \"$cmdline\""
	info "qemu version: $($BENCH_QEMU --version | head -n 1)"
else
	info "qemu: no setting reached the guest's init; QEMU figures are missing"
fi
# ember warm-up run (not counted).
r=$("$vm" -K -t "$tmo" -e "$work/ember-probe.err" -o "$work/ember-probe.out" -- "$BENCH_EMBER" run "$work/boot.cfg")
[ "$(value marker_ms "$r")" != "-1.0" ] || why ember-probe "ember did not reach init"
info "ember command: $BENCH_EMBER run boot.cfg (1 vCPU, 128 MiB, cmdline \"$cmdline\")"

# 1 + 2: boot to init (both), ember's start-up cost, alternating monitors; ember also without
# seccomp and through ember-jailer (built beside ember, when it is there).
jailer=$(dirname "$(dirname "$BENCH_EMBER")")/tools/jailer/ember-jailer
i=1
while phase boot && [ "$i" -le "$runs" ]; do
	r=$(EMBER_LOG=debug "$vm" -K -t "$tmo" -e "$work/ember-$i.err" -o "$work/ember-$i.out" -- \
		"$BENCH_EMBER" run "$work/boot.cfg")
	echo "BENCH boot_ms ember $i $(value marker_ms "$r")"
	[ "$(value marker_ms "$r")" != "-1.0" ] || why "ember-$i" "no init"
	s=$(grep 'first KVM_RUN after' "$work/ember-$i.err" | head -n 1)
	if [ -n "$s" ]; then
		echo "BENCH startup_wall_ms ember $i $(value wall_ms "$s")"
		echo "BENCH startup_cpu_ms ember $i $(value cpu_ms "$s")"
	fi
	# The same without seccomp filters (ember run --no-seccomp): what the filters cost.
	r=$(EMBER_LOG=debug "$vm" -K -t "$tmo" -e "$work/ember-ns-$i.err" -o "$work/ember-ns-$i.out" -- \
		"$BENCH_EMBER" run --no-seccomp "$work/boot.cfg")
	echo "BENCH boot_ms_no_seccomp ember $i $(value marker_ms "$r")"
	s=$(grep 'first KVM_RUN after' "$work/ember-ns-$i.err" | head -n 1)
	if [ -n "$s" ]; then
		echo "BENCH startup_wall_ms_no_seccomp ember $i $(value wall_ms "$s")"
		echo "BENCH startup_cpu_ms_no_seccomp ember $i $(value cpu_ms "$s")"
	fi
	# The same through ember-jailer (uid/gid 1000, no cgroup): the jail's cost, counted from
	# the jailer's exec (it copies ember, its libraries and plugins in each time).
	if [ -x "$jailer" ]; then
		jr=$work/jail/ember/b$i/root
		mkdir -p "$jr"
		ln "$BENCH_KERNEL" "$jr/vmlinuz" 2>/dev/null || cp "$BENCH_KERNEL" "$jr/vmlinuz"
		ln "$initrd" "$jr/initrd.cpio.gz" 2>/dev/null || cp "$initrd" "$jr/initrd.cpio.gz"
		sed 's|kernel = .*|kernel = "/vmlinuz";|; s|initrd = .*|initrd = "/initrd.cpio.gz";|' \
			"$work/boot.cfg" >"$jr/boot.cfg"
		r=$("$vm" -K -t "$tmo" -e "$work/ember-j-$i.err" -o "$work/ember-j-$i.out" -- \
			"$jailer" --id "b$i" --exec-file "$BENCH_EMBER" --uid 1000 --gid 1000 \
			--chroot-base-dir "$work/jail" -- run /boot.cfg)
		echo "BENCH boot_ms_jailed ember $i $(value marker_ms "$r")"
		[ "$(value marker_ms "$r")" != "-1.0" ] || why "ember-j-$i" "no init through the jailer"
		rm -rf "$work/jail/ember/b$i"
	fi
	# The same guest through the Firecracker front-end's API, as an orchestrator starts it.
	r=$(EMBER_LOG=debug "$dir/bench-api" -s "$work/api.sock" -k "$BENCH_KERNEL" -i "$initrd" \
		-c "$cmdline" -t "$tmo" -e "$work/ember-api-$i.err" -o "$work/ember-api-$i.out" -- \
		"$BENCH_EMBER" firecracker --api-sock "$work/api.sock")
	echo "BENCH api_sock_ms ember $i $(value sock_ms "$r")"
	echo "BENCH api_configure_ms ember $i $(value configure_ms "$r")"
	echo "BENCH api_start_to_init_ms ember $i $(value start_to_init_ms "$r")"
	echo "BENCH api_boot_ms ember $i $(value total_ms "$r")"
	[ "$(value status "$r")" = ok ] && [ "$(value start_to_init_ms "$r")" != "-1.0" ] ||
		why "ember-api-$i" "no init through the API ($r)"
	s=$(grep 'API socket accepting after' "$work/ember-api-$i.err" | head -n 1)
	[ -z "$s" ] || echo "BENCH api_sock_cpu_ms ember $i $(value cpu_ms "$s")"
	if [ $qemu_ok = 1 ]; then
		r=$(run_qemu 128 '' -K -t "$tmo" -e "$work/qemu-$i.err" -o "$work/qemu-$i.out")
		echo "BENCH boot_ms qemu $i $(value marker_ms "$r")"
		[ "$(value marker_ms "$r")" != "-1.0" ] || why "qemu-$i" "no init"
	fi
	i=$((i + 1))
done

# 3: memory overhead while a 1 vCPU / 128 MiB guest idles. mem_report MONITOR < bench-vm output
mem_report() {
	_n=0
	while read -r kind rest; do
		[ "$kind" = map ] && echo "BENCH-MAP $1 $rest"
		[ "$kind" = mem ] || continue
		_n=$((_n + 1))
		echo "BENCH overhead_kib $1 $(value sample "$rest") $(value overhead_kib "$rest")" \
			"rss_kib=$(value rss_kib "$rest") guest_kib=$(value guest_kib "$rest") guest_maps=$(value guest_maps "$rest")"
	done
	[ $_n -gt 0 ] || why "$1-mem" "no memory sample (the guest never said 'bench: idle')"
}
if phase mem; then
	"$vm" -v -t "$tmo" -i 'bench: idle' -g 128 -s "$samples" -e "$work/ember-mem.err" -o "$work/ember-mem.out" -- \
		"$BENCH_EMBER" run "$work/idle.cfg" | mem_report ember
	[ $qemu_ok = 0 ] || run_qemu 128 'bench.idle=1' -v -t "$tmo" -i 'bench: idle' -g 128 -s "$samples" \
		-e "$work/qemu-mem.err" -o "$work/qemu-mem.out" | mem_report qemu
fi

# 4: creation rate: $many guests started at once; guests that reached init per second.
i=1
while phase many && [ "$i" -le "$many_runs" ]; do
	r=$("$vm" -n "$many" -K -t "$many_tmo" -e "$work/ember-many-$i.err" -o "$work/ember-many-$i.out" -- \
		"$BENCH_EMBER" run "$work/many.cfg" | grep '^many ')
	echo "BENCH rate_per_s ember $i $(value per_s "$r") reached=$(value reached "$r")/$many last_ms=$(value last_ms "$r")"
	[ "$(value reached "$r")" = "$many" ] || why "ember-many-$i" "not all reached init (copy 0 shown)" .0
	if [ $qemu_ok = 1 ]; then
		r=$(run_qemu "$many_mib" '' -n "$many" -K -t "$many_tmo" -e "$work/qemu-many-$i.err" \
			-o "$work/qemu-many-$i.out" | grep '^many ')
		echo "BENCH rate_per_s qemu $i $(value per_s "$r") reached=$(value reached "$r")/$many last_ms=$(value last_ms "$r")"
		[ "$(value reached "$r")" = "$many" ] || why "qemu-many-$i" "not all reached init (copy 0 shown)" .0
	fi
	i=$((i + 1))
done
info "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
nested_release_vm
rm -rf "$work"
echo BENCH-END
