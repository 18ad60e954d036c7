# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh disable=SC2034 # nested_* variables are for the scripts that source this
#
# tools/lib/nested.sh: what tests/e2e/run, tools/bench and tools/bench-helpers/*.sh share about
# running guests on KVM, directly or nested (docs/testing.md):
#
#   nested_probe_build REPO CACHE      build the KVM probe (tests/e2e/kvm-probe.c); print its path
#   nested_pick_mode MODE PROBE [NOTE] auto -> direct or nested; sets nested_mode
#   nested_l1_image REPO EMBER PROBE ENV OUT   L1's initramfs (tests/e2e/l1-image)
#   nested_l1_boot TIMEOUT KERNEL INITRD       boot L1 under QEMU's software CPU
#   nested_hold_vm CMD... / nested_release_vm  hold one KVM VM for a run of short-lived VMs
#
# POSIX sh: the bash scripts source it on the host, and busybox sh sources it inside L1 (the
# bench helpers; tools/bench copies it next to them). Sourcing defines functions and nothing
# else. Variables the functions set start with nested_; their locals with _n.

# nested_probe_build REPO CACHE: CACHE/e2e/kvm-probe, built from REPO/tests/e2e/kvm-probe.c when
# it is missing or older than its source: static, so that it runs in L1 too (dynamic when this
# host has no static libc). Written under another name and renamed, so a run never finds half
# a binary. Prints the path; returns 1 (compiler messages on stderr) when it cannot be built.
nested_probe_build() {
	_nsrc=$1/tests/e2e/kvm-probe.c
	_nout=$2/e2e/kvm-probe
	# shellcheck disable=SC3013 # -nt: busybox, dash and bash all have it
	if [ ! -x "$_nout" ] || [ "$_nsrc" -nt "$_nout" ]; then
		mkdir -p "$2/e2e" || return 1
		cc -O2 -static -o "$_nout.tmp" "$_nsrc" 2>/dev/null ||
			cc -O2 -o "$_nout.tmp" "$_nsrc" || return 1
		mv -f "$_nout.tmp" "$_nout" || return 1
	fi
	echo "$_nout"
}

# nested_pick_mode MODE PROBE [NOTE]: sets nested_mode to MODE (direct or nested), or for auto
# to direct when PROBE runs a guest on this host's /dev/kvm, else to nested after printing
#   # no usable /dev/kvm here (WHY): nested modeNOTE
# (WHY: the probe's reason). Always returns 0.
nested_pick_mode() {
	nested_mode=$1
	[ "$1" = auto ] || return 0
	if _nwhy=$("$2" 2>&1); then
		nested_mode=direct
	else
		nested_mode=nested
		echo "# no usable /dev/kvm here (${_nwhy#kvm-probe: }): nested mode${3:-}"
	fi
}

# nested_l1_image REPO EMBER PROBE ENV OUT: L1's initramfs into OUT, with ember, the probe and
# the driver environment ENV (tests/e2e/l1-image says what else; EMBER_E2E_L1_EXTRA adds files).
nested_l1_image() {
	"$1/tests/e2e/l1-image" --ember "$2" --probe "$3" --env "$4" --out "$5"
}

# nested_l1_boot TIMEOUT KERNEL INITRD [QEMU_LOG]: boots L1 (KERNEL with INITRD, whose /init
# loads kvm_amd and runs the e2e driver or E2E_COMMAND) under QEMU's software CPU: q35, -cpu max,
# multi-threaded TCG, $nested_l1_cpus vCPUs (default 2) and $nested_l1_mem of RAM (default 4G),
# no network, its console (and QEMU's messages) on stdout, nothing read from stdin. Killed after
# TIMEOUT seconds (then SIGKILL 10 s later). Returns QEMU's status, or timeout's (124, 137).
# With -no-reboot, an L1 that resets (a triple fault, which prints nothing on L1's console) makes
# QEMU exit 0 as a power-off does; QEMU_LOG, when given, gets QEMU's CPU reset log ("Triple
# fault" and the registers), which tells them apart.
nested_l1_boot() {
	_l1_t=$1 _l1_k=$2 _l1_i=$3
	shift 3
	[ -n "${1:-}" ] && set -- -d cpu_reset -D "$1"
	timeout -k 10 "$_l1_t" qemu-system-x86_64 -machine q35 -cpu max -accel tcg,thread=multi \
		-smp "${nested_l1_cpus:-2}" -m "${nested_l1_mem:-4G}" -nic none -nodefaults -no-user-config \
		-display none -serial stdio \
		-no-reboot -kernel "$_l1_k" -initrd "$_l1_i" "$@" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null 2>&1
}

# nested_hold_vm CMD...: starts CMD (a program that creates one KVM VM and keeps it until
# killed: bench-vm -H, kvm-probe --hold) in the background, so that creating and destroying the
# measured VMs never flips KVM's static keys, i.e. never makes the kernel patch its own text
# (an L1 under QEMU's multi-threaded TCG now and then oopses on that). Inside L1 (E2E_MODE is
# nested) it does nothing: L1's /init already holds one (tests/e2e/l1-image). Sets
# nested_holder to its pid ('' when none); nested_release_vm stops it.
nested_hold_vm() {
	nested_holder=''
	[ "${E2E_MODE:-}" = nested ] && return 0
	"$@" &
	nested_holder=$!
}

nested_release_vm() {
	[ -n "${nested_holder:-}" ] || return 0
	kill "$nested_holder" 2>/dev/null
	wait "$nested_holder" 2>/dev/null
	nested_holder=''
}
