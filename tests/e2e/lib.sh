# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# Helpers for e2e cases (POSIX sh; busybox ash runs it inside L1). The driver sources this file
# and then one case, in a subshell whose working folder is the case's own scratch folder.
#
# From the driver: E2E_EMBER (ember binary), E2E_GUEST (folder with vmlinuz, vmlinux and
# initrd.cpio.gz),
# E2E_MODE (direct|nested), E2E_TIMEOUT (seconds an ember run may take), E2E_CASE (name),
# E2E_CASE_DIR (this case's folder, also the working folder).
#
# A case: writes guests (guest), runs ember (ember_start + ember_wait, or ember_run), asserts
# (expect_status, expect_fact, ...) and calls fail REASON on the first broken expectation.
# The guest reports facts on its console as lines "E2E_FACT key=value" (helper `fact` in the
# guest script); cases read them from ember's stdout, i.e. the guest's serial console.

# The same stock kernel, minus two seconds of each nested boot spent testing itself: the crypto
# self-tests (cryptomgr.notests), the jitter entropy source's start-up test and the SP800-108
# KDF's self-test (initcall_blacklist; neither is used outside FIPS mode). No case checks
# crypto, and every guest boots ~70 times per suite.
GUEST_CMDLINE='console=ttyS0 reboot=k panic=-1 pci=off quiet cryptomgr.notests initcall_blacklist=jent_mod_init,crypto_kdf108_init'
EMBER_PID=''
E2E_LAST=''

# The helpers that poll while a guest runs (alive, ember_wait, wait_for, wait_socket) start no
# process but one grep and one sleep a round: nested, L1 has one CPU, every process started
# there costs it about 7 ms, and that time goes missing from the guest.
E2E_CR=$(printf '\r')

now() { read -r _up _ </proc/uptime && echo "$_up"; }
# Seconds since $1 (a `now` value), one decimal.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# cs_of [NOW]: _cs = that `now` value (default: the time now) in centiseconds.
cs_of() {
	if [ $# -eq 0 ]; then read -r _up _ </proc/uptime; else _up=$1; fi
	_cs=$((${_up%.*} * 100 + 1${_up#*.} - 100))
}
# timed_out START LIMIT: true once more than LIMIT seconds (whole) passed since START (`now`).
timed_out() {
	cs_of "$1"
	_t0=$_cs
	cs_of
	[ $((_cs - _t0)) -gt $((${2%.*} * 100)) ]
}

note() {
	echo "$*" >>"$E2E_CASE_DIR/.notes"
	echo "note: $*"
}

alive() { # PID: running and not a zombie
	_st=''
	{ read -r _st <"/proc/$1/stat"; } 2>/dev/null || return 1
	_st=${_st##*) }
	case $_st in
	Z* | X* | '') return 1 ;;
	esac
	return 0
}

# Show the end of the last ember run's output (goes to the case log).
show_last() {
	[ -n "$E2E_LAST" ] || return 0
	echo "--- $E2E_LAST: ember stderr (tail) ---"
	tail -n 15 "$E2E_LAST.err" 2>/dev/null
	echo "--- $E2E_LAST: guest console = ember stdout (tail) ---"
	tr -d '\r' <"$E2E_LAST.out" 2>/dev/null | tail -n 25
}

fail() {
	echo "$*" >"$E2E_CASE_DIR/.reason"
	echo "FAIL: $*"
	show_last
	if [ -n "$EMBER_PID" ] && alive "$EMBER_PID"; then
		kill -KILL "$EMBER_PID" 2>/dev/null
		wait "$EMBER_PID" 2>/dev/null
	fi
	exit 1
}

# initrd_with_script SCRIPT OUT: the default guest initrd plus SCRIPT as /test.sh (the guest's
# /init runs it) and the files in $GUEST_BINS (if set; static programs) in /bin. Linux unpacks
# each of several concatenated cpio archives.
initrd_with_script() {
	_d=$(mktemp -d)
	cp "$1" "$_d/test.sh"
	chmod 755 "$_d/test.sh"
	_list=test.sh
	if [ -n "${GUEST_BINS:-}" ]; then
		mkdir -p "$_d/bin"
		for _b in $GUEST_BINS; do
			cp "$_b" "$_d/bin/" || fail "cannot add $_b to the guest"
			_list="$_list bin/$(basename "$_b")"
		done
		_list="bin $_list"
	fi
	# shellcheck disable=SC2086 # a list of names on purpose
	(cd "$_d" && printf '%s\n' $_list | cpio -o -H newc 2>/dev/null) | gzip -c >"$_d/test.cpio.gz" ||
		fail "cannot pack $1 into a cpio"
	cat "$E2E_GUEST/initrd.cpio.gz" "$_d/test.cpio.gz" >"$2"
	rm -rf "$_d"
}

# guest NAME VCPUS MEMORY_MIB END [CMDLINE-EXTRA] <SCRIPT
# Writes NAME.cfg booting the default guest with SCRIPT (stdin) as its test script; END is
# poweroff|reboot|none (what the guest's /init does after the script). Paths in the config are
# relative: ember resolves them against the config's folder. $DEVICES (if set) goes inside the
# config's devices = ( ... ), $PLUGIN_DIRS (if set) inside plugin_dirs = [ ... ] and $MACHINE
# (if set, e.g. 'memory_backing = "shared";') inside machine = { ... }. The kernel is
# $GUEST_IMAGE: vmlinux by default (the same kernel as an ELF, which tests/e2e/run extracts: the
# nested guest then spends no seconds decompressing itself), or vmlinuz, the bzImage as Debian
# ships it (the boot-* cases and the jailer, which places the kernel itself). Sets
# GUEST_KERNEL_FILE to the file the config names, for cases that write their own boot group.
guest() {
	{
		# shellcheck disable=SC2016 # expanded in the guest
		echo 'fact() { echo "E2E_FACT $1=$2"; }'
		cat
	} >"$1.test.sh"
	initrd_with_script "$1.test.sh" "$1.initrd"
	_img=${GUEST_IMAGE:-vmlinux}
	[ -f "$E2E_GUEST/$_img" ] || _img=vmlinuz
	[ -e "$_img" ] || ln -s "$E2E_GUEST/$_img" "$_img"
	GUEST_KERNEL_FILE=$_img
	cat >"$1.cfg" <<EOF
# e2e case ${E2E_CASE:-}
machine = { vcpus = $2; memory_mib = $3; ${MACHINE:-}};
boot = {
  kernel = "$_img";
  initrd = "$1.initrd";
  cmdline = "$GUEST_CMDLINE ember.end=$4${5:+ $5}";
};
devices = ( ${DEVICES:-} );
${PLUGIN_DIRS:+plugin_dirs = [ $PLUGIN_DIRS ];}
EOF
}

# The folder of the deliberately broken test plugins (same path in direct and nested mode).
test_plugins_dir() {
	echo "$(dirname "$(dirname "$E2E_EMBER")")/tests/unit/plugins"
}

# ember_start TAG ARGS...: run "$E2E_EMBER ARGS..." in the background, stdout to TAG.out (the
# guest console), stderr to TAG.err. Sets EMBER_PID.
ember_start() {
	_tag=$1
	shift
	E2E_LAST=$_tag
	echo "run: ember $* (> $_tag.out 2> $_tag.err)"
	E2E_T0=$(now)
	"$E2E_EMBER" "$@" </dev/null >"$_tag.out" 2>"$_tag.err" &
	EMBER_PID=$!
}

# ember_wait [TIMEOUT]: wait for the ember started last. Sets STATUS to its exit status, or to
# "timeout" (after killing it), and SECS to its run time.
ember_wait() {
	_limit=${1:-$E2E_TIMEOUT}
	while alive "$EMBER_PID"; do
		if timed_out "$E2E_T0" "$_limit"; then
			kill -KILL "$EMBER_PID" 2>/dev/null
			wait "$EMBER_PID" 2>/dev/null
			STATUS=timeout
			SECS=$(since "$E2E_T0")
			EMBER_PID=''
			echo "ember killed after $SECS s (limit $_limit s)"
			return 0
		fi
		sleep 0.2
	done
	STATUS=0
	wait "$EMBER_PID" || STATUS=$?
	SECS=$(since "$E2E_T0")
	EMBER_PID=''
	echo "ember exited with status $STATUS after $SECS s"
}

# ember_run TAG ARGS...: ember_start + ember_wait.
ember_run() {
	ember_start "$@"
	ember_wait "$E2E_TIMEOUT"
}

# wait_for TAG PATTERN [TIMEOUT]: wait until the guest console (TAG.out) has a line matching
# the extended regex PATTERN; fail when ember ends or the time runs out first.
wait_for() {
	_t=$(now)
	# The console's lines end in CR LF: a pattern anchored at the end may take the CR.
	case $2 in
	*'$') _re="${2%?}$E2E_CR?\$" ;;
	*) _re=$2 ;;
	esac
	while ! grep -qE "$_re" "$1.out"; do
		alive "$EMBER_PID" || fail "ember ended before the console showed /$2/"
		if timed_out "$_t" "${3:-$E2E_TIMEOUT}"; then
			fail "no /$2/ on the console after ${3:-$E2E_TIMEOUT} s"
		fi
		sleep 0.2
	done
}

expect_status() { # WANT
	[ "$STATUS" = "$1" ] || fail "ember exit status $STATUS, expected $1"
}

# fact TAG KEY: the value the guest reported with `fact KEY VALUE` (empty when missing).
fact() {
	tr -d '\r' <"$1.out" | sed -n "s/^E2E_FACT $2=//p" | tail -n 1
}

expect_fact() { # TAG KEY WANT
	_v=$(fact "$1" "$2")
	[ "$_v" = "$3" ] || fail "guest fact $2='$_v', expected '$3'"
}

# boot_timer TAG: the boot-timer values ember logged ("wall_ms=X cpu_ms=Y"), empty if none.
boot_timer() {
	sed -n 's/^ember: boot-timer: //p' "$1.err" | tail -n 1
}

# Note the boot-timer values of run TAG if ember logged them.
note_boot_timer() {
	_bt=$(boot_timer "$1")
	[ -z "$_bt" ] || note "boot-timer $_bt (ember run $SECS s)"
}

# e2e_tool NAME: the path of tools/NAME (L1 carries the tools cases need in /e2e/tools).
e2e_tool() {
	if [ -x "$E2E_DIR/tools/$1" ]; then
		echo "$E2E_DIR/tools/$1"
	else
		echo "$E2E_DIR/../../tools/$1"
	fi
}

# The newer guest (tools/guest-image --newer: a Debian cloud kernel with ptp_vmclock, in
# E2E_GUEST_NEWER, set by tests/e2e/run when it exists). guest_newer takes guest's arguments and
# writes NAME.cfg booting that kernel (as vmlinuz-newer) with noxsave on its command line (the
# 7.x kernels panic without it under nested KVM); its initrd keeps modules under
# /lib/modules/KREL with a modules.dep, so the script can modprobe (ptp_vmclock, ptp_kvm), and
# has /bin/phc-compare (tests/e2e/phc-compare.c). Fails the case when there is no newer guest.
guest_newer() {
	[ -n "${E2E_GUEST_NEWER:-}" ] && [ -f "$E2E_GUEST_NEWER/initrd.cpio.gz" ] ||
		fail "no newer guest (E2E_GUEST_NEWER unset or empty): run tools/guest-image --newer"
	{
		# shellcheck disable=SC2016 # expanded in the guest
		echo 'fact() { echo "E2E_FACT $1=$2"; }'
		cat
	} >"$1.test.sh"
	_gsave=$E2E_GUEST
	E2E_GUEST=$E2E_GUEST_NEWER
	initrd_with_script "$1.test.sh" "$1.initrd"
	E2E_GUEST=$_gsave
	[ -e vmlinuz-newer ] || ln -s "$E2E_GUEST_NEWER/vmlinuz" vmlinuz-newer
	cat >"$1.cfg" <<EOF2
# e2e case ${E2E_CASE:-} (newer guest kernel $(guest_newer_release))
machine = { vcpus = $2; memory_mib = $3; };
boot = {
  kernel = "vmlinuz-newer";
  initrd = "$1.initrd";
  cmdline = "$GUEST_CMDLINE noxsave ember.end=$4${5:+ $5}";
};
devices = ( ${DEVICES:-} );
${PLUGIN_DIRS:+plugin_dirs = [ $PLUGIN_DIRS ];}
EOF2
}

# The newer guest kernel's release (uname -r), e.g. 7.3.4+deb13-cloud-amd64; empty when none.
guest_newer_release() {
	sed -n 's/^KREL=//p' "${E2E_GUEST_NEWER:-/nonexistent}/kernel.env" 2>/dev/null
}

# --- The API cases (api-*): Firecracker's API on a Unix socket, driven with curl. ---

# api METHOD PATH [BODY]: one request on $API_SOCK, sent with curl as firecracker-go-sdk's HTTP
# client sends it (its Accept, Content-Type and User-Agent headers). The status goes to
# API_STATUS ("curl-failed" when curl could not talk to the socket), the answer's body to
# api.body; both are logged.
api() {
	_am=$1 _ap=$2
	shift 2
	: >api.body
	if [ $# -ge 1 ]; then
		API_STATUS=$(curl -sS --max-time 20 --unix-socket "$API_SOCK" -X "$_am" \
			-H 'Accept: application/json' -H 'Content-Type: application/json' \
			-H 'User-Agent: Go-http-client/1.1' --data-binary "$1" -o api.body \
			-w '%{http_code}' "http://localhost$_ap") || API_STATUS=curl-failed
	else
		API_STATUS=$(curl -sS --max-time 20 --unix-socket "$API_SOCK" -X "$_am" \
			-H 'Accept: application/json' -H 'User-Agent: Go-http-client/1.1' \
			-o api.body -w '%{http_code}' "http://localhost$_ap") || API_STATUS=curl-failed
	fi
	echo "api: $_am $_ap ${1:-} -> $API_STATUS $(cat api.body)"
}

# api_expect STATUS METHOD PATH [BODY]: api, and fail unless the status is STATUS.
api_expect() {
	_aw=$1
	shift
	api "$@"
	[ "$API_STATUS" = "$_aw" ] || fail "$1 $2: status $API_STATUS, expected $_aw: $(cat api.body)"
}

# api_json PATH: a value of the last answer's JSON body (api-test json).
api_json() {
	"$E2E_API_TEST" json api.body "$1" 2>/dev/null
}

# wait_socket PATH [TIMEOUT]: wait until PATH is a socket (the API listens), while ember runs.
wait_socket() {
	_t=$(now)
	while [ ! -S "$1" ]; do
		alive "$EMBER_PID" || fail "ember ended before its API socket $1 appeared"
		if timed_out "$_t" "${2:-30}"; then
			fail "no API socket $1 after ${2:-30} s"
		fi
		sleep 0.1
	done
}

# api_guest NAME <SCRIPT: the default guest's initrd with SCRIPT (NAME.initrd), for VMs that
# the API or a Firecracker JSON file describes; GUEST_ARGS is the kernel command line to give.
api_guest() {
	{
		# shellcheck disable=SC2016 # expanded in the guest
		echo 'fact() { echo "E2E_FACT $1=$2"; }'
		cat
	} >"$1.test.sh"
	initrd_with_script "$1.test.sh" "$1.initrd"
	GUEST_KERNEL=$E2E_GUEST/vmlinux
	[ -f "$GUEST_KERNEL" ] || GUEST_KERNEL=$E2E_GUEST/vmlinuz
	GUEST_ARGS="$GUEST_CMDLINE ember.end=none"
}

# ember_mem_kb PID: the guest memory ember's process holds now, in KiB: VmRSS plus HugetlbPages
# (which VmRSS leaves out), and, for a memfd backing (machine.memory_backing shared or hugetlb),
# the memfd's allocated blocks instead: its pages stay allocated even where ember's mapping of
# them was dropped.
ember_mem_kb() {
	for _f in /proc/"$1"/fd/*; do
		case $(readlink "$_f" 2>/dev/null) in
		*memfd:ember-guest-ram*)
			# st_blocks counts 512-byte units
			echo $(($(stat -L -c %b "$_f") / 2))
			return 0
			;;
		esac
	done
	awk '/^VmRSS:|^HugetlbPages:/ { kb += $2 } END { print kb + 0 }' "/proc/$1/status"
}

# settle_mem_kb PID: ember_mem_kb once it stopped falling (two readings 1 s apart within 2 MiB,
# at most 15 s).
settle_mem_kb() {
	_prev=$(ember_mem_kb "$1")
	_i=0
	while [ $_i -lt 15 ]; do
		sleep 1
		_cur=$(ember_mem_kb "$1")
		[ $((_prev - _cur)) -lt 2048 ] && break
		_prev=$_cur
		_i=$((_i + 1))
	done
	echo "$_cur"
}
