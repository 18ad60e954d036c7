# shellcheck shell=sh
# ember-jailer (docs/jailer.md): ember run through the jailer as uid:gid 1000:1000 with
# virtio-rng, virtio-blk, virtio-vsock and the test plugin tp-probe, in a jail under this case's
# folder.
# Run 1 (foreground): cgroup v2 memory.max and pids.max and the no-file limit read back while
# it runs, the uids in /proc, the guest uses the disk and the rng, 1 MiB echoed over vsock
# from L1 through the socket ember made in the jail's /run, and tp-probe shows from
# inside ember that files in the jail are reachable and files outside it are not.
# Run 2: --new-pid-ns --daemonize: the pid file names a process that is pid 1 of its own pid
# namespace, in a new session, with stdio on /dev/null; the guest reports through its disk.
# Also the command line's errors: status 2, one line, nothing made.
GUEST_IMAGE=vmlinuz # this case names the kernel file itself
JAILER=$(dirname "$(dirname "$E2E_EMBER")")/tools/jailer/ember-jailer
[ -x "$JAILER" ] || fail "no jailer $JAILER (build it)"
probe=$(test_plugins_dir)/tp-probe.so
[ -f "$probe" ] || fail "no test plugin $probe (build the unit tests)"
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$cgroot" ] || fail "no cgroup2 file system mounted"
U=1000
G=1000
base=$E2E_CASE_DIR/jail
mkdir -p "$base" probe-plugins
cp "$probe" probe-plugins/
echo outside >outside.txt

# -- errors: one line, the documented status, nothing made
jail_try() { # WANT-STATUS WANT-LINE-START ARGS...
	_want=$1
	_line=$2
	shift 2
	_st=0
	"$JAILER" "$@" >try.out 2>try.err || _st=$?
	[ "$_st" = "$_want" ] || fail "ember-jailer $*: status $_st, expected $_want ($(cat try.err))"
	if [ "$(wc -l <try.err)" != 1 ] || ! grep -q "^ember-jailer: error: $_line" try.err; then
		fail "ember-jailer $*: said '$(cat try.err)', expected 'ember-jailer: error: $_line...'"
	fi
}
jail_try 2 "--id bad/id: only letters" --id bad/id --exec-file "$E2E_EMBER" --uid $U --gid $G \
	--chroot-base-dir "$base"
jail_try 2 "--uid is required" --id x --exec-file "$E2E_EMBER" --gid $G
jail_try 2 "--cgroup-version 1: cgroup v1 is not supported" --id x --exec-file "$E2E_EMBER" \
	--uid $U --gid $G --cgroup-version 1 --cgroup pids.max=10
jail_try 2 "--cgroup memory.max: expected FILE=VALUE" --id x --exec-file "$E2E_EMBER" \
	--uid $U --gid $G --cgroup memory.max
jail_try 2 "--resource-limit no-file=lots: lots is not a number" --id x --exec-file "$E2E_EMBER" \
	--uid $U --gid $G --resource-limit no-file=lots
jail_try 1 "--exec-file $PWD/no-such-ember: No such file" --id x --exec-file "$PWD/no-such-ember" \
	--uid $U --gid $G --chroot-base-dir "$base"
# A cgroup file that does not exist: the jail and the cgroup made so far are removed again.
jail_try 1 "cgroup: $cgroot/ember/x/memory.nosuch: no such cgroup file" --id x \
	--exec-file "$E2E_EMBER" --uid $U --gid $G --chroot-base-dir "$base" \
	--cgroup memory.nosuch=1
[ -z "$(ls -A "$base")" ] || fail "a failed jailer left $(ls -A "$base") in $base"
[ ! -e "$cgroot/ember/x" ] || fail "a failed jailer left the cgroup $cgroot/ember/x"

# place_jail ID TAG DISK-MIB: the jail's root with the guest TAG's kernel, initrd, config and
# an empty disk owned by the jail's user, as an orchestrator places them (hard links when it can).
place_jail() {
	_r=$base/ember/$1/root
	mkdir -p "$_r"
	ln "$(readlink -f vmlinuz)" "$_r/vmlinuz" 2>/dev/null || cp -L vmlinuz "$_r/vmlinuz"
	cp "$2.cfg" "$2.initrd" "$_r/"
	truncate -s "$3M" "$_r/disk.img"
	chown $U:$G "$_r/disk.img"
}

# -- run 1: foreground, cgroup, limits, probe
# shellcheck disable=SC2034 # guest (lib.sh) reads PLUGIN_DIRS and DEVICES
PLUGIN_DIRS="\"$PWD/probe-plugins\""
DEVICES="{ plugin = \"virtio-rng\"; }, { plugin = \"virtio-blk\"; path = \"disk.img\"; },
  { plugin = \"virtio-vsock\"; guest_cid = 3; uds_path = \"/run/v.sock\"; },
  { plugin = \"tp-probe\"; paths = \"/vmlinuz:/disk.img:/dev/kvm:$PWD/outside.txt:/e2e/driver:$base\"; }"
GUEST_BINS=$E2E_VSOCK_TEST
guest g 1 128 none <<'G'
fact rng "$(cat /sys/class/misc/hw_random/rng_current)"
fact rngbytes "$(dd if=/dev/hwrng bs=4096 count=16 2>/dev/null | wc -c)"
echo jailed-disk-ok | dd of=/dev/vda bs=512 conv=sync 2>/dev/null && sync && fact wrote ok
vsock-test serve vsock:5000 --log /tmp/vsock.log --background >/dev/null
echo E2E_IDLE
sleep 1000
G
place_jail j1 g 16
root=$base/ember/j1/root
E2E_EMBER_SAVED=$E2E_EMBER
E2E_EMBER=$JAILER
ember_start g --id j1 --exec-file "$E2E_EMBER_SAVED" --uid $U --gid $G --chroot-base-dir "$base" \
	--cgroup-version 2 --cgroup memory.max=512M --cgroup pids.max=200 \
	--resource-limit no-file=1000 --plugin-dir "$PWD/probe-plugins" -- run /g.cfg
E2E_EMBER=$E2E_EMBER_SAVED
wait_for g '^E2E_IDLE'
pid=$EMBER_PID
[ "$(cat "$root/ember.pid")" = "$pid" ] || fail "pid file says $(cat "$root/ember.pid"), ember is $pid"
ids=$(awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 } /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
	END { print u "/" g }' "/proc/$pid/status")
[ "$ids" = "$U $U $U $U/$G $G $G $G" ] || fail "ember runs as uid/gid $ids"
[ "$(awk '/^Max open files/ { print $4 "/" $5 }' "/proc/$pid/limits")" = 1000/1000 ] ||
	fail "no-file limit: $(grep 'Max open files' "/proc/$pid/limits")"
cg=$cgroot/ember/j1
[ "$(cat "$cg/memory.max")" = 536870912 ] || fail "memory.max reads $(cat "$cg/memory.max")"
[ "$(cat "$cg/pids.max")" = 200 ] || fail "pids.max reads $(cat "$cg/pids.max")"
grep -qx "$pid" "$cg/cgroup.procs" || fail "ember ($pid) is not in $cg/cgroup.procs"
[ "$(cat "/proc/$pid/cgroup")" = "0::/ember/j1" ] || fail "ember's cgroup: $(cat "/proc/$pid/cgroup")"
note "jailed ember $pid: uid/gid $ids, cgroup $(cat "/proc/$pid/cgroup"), memory.current $(cat "$cg/memory.current"), pids.current $(cat "$cg/pids.current")"
for want in "probe: uid=$U gid=$G" "probe /vmlinuz: stat ok; open ok" \
	"probe /disk.img: stat ok; open ok" "probe /dev/kvm: stat ok; open ok" \
	"probe $PWD/outside.txt: stat: No such file or directory" \
	"probe /e2e/driver: stat: No such file or directory" \
	"probe $base: stat: No such file or directory"; do
	grep -qF "tp-probe.0: $want" g.err || fail "tp-probe did not log '$want': $(grep probe g.err)"
done
# vsock from outside the jail: the socket ember made (as uid 1000) in the jail's /run.
[ "$(stat -c %u "$root/run/v.sock" 2>/dev/null)" = $U ] || fail "no socket of uid $U at $root/run/v.sock"
"$E2E_VSOCK_TEST" client "hybrid:$root/run/v.sock:5000" --bytes 1048576 >vsock.log 2>&1
case $(tail -n 1 vsock.log) in "VSOCK-TEST ok conns=1 "*) ;; *) fail "vsock into the jailed VM: $(tail -n 2 vsock.log)" ;; esac
kill -TERM "$pid"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 20
expect_status 0
expect_fact g rng virtio_rng.0
expect_fact g rngbytes 65536
expect_fact g wrote ok
[ "$(head -c 14 "$root/disk.img")" = jailed-disk-ok ] || fail "the guest's write is not in the jail's disk"

# -- run 2: --new-pid-ns --daemonize; the guest writes its facts to the disk and powers off
unset PLUGIN_DIRS
# shellcheck disable=SC2034 # guest (lib.sh) reads DEVICES
DEVICES='{ plugin = "virtio-rng"; }, { plugin = "virtio-blk"; path = "disk.img"; }'
guest g2 1 128 poweroff <<'G'
{ echo "rng=$(cat /sys/class/misc/hw_random/rng_current)"; echo end; } |
	dd of=/dev/vda bs=512 conv=sync 2>/dev/null
sync
G
place_jail j2 g2 1
root2=$base/ember/j2/root
st=0
"$JAILER" --id j2 --exec-file "$E2E_EMBER" --uid $U --gid $G --chroot-base-dir "$base" \
	--new-pid-ns --daemonize -- run /g2.cfg >g2.out 2>g2.err || st=$?
[ "$st" = 0 ] || fail "ember-jailer --new-pid-ns --daemonize: status $st ($(cat g2.err))"
[ -s g2.out ] || [ -s g2.err ] && fail "a daemonized jailer wrote: $(cat g2.out g2.err)"
[ -s "$root2/ember.pid" ] || fail "no pid file $root2/ember.pid"
pid2=$(cat "$root2/ember.pid")
alive "$pid2" || fail "the daemonized ember ($pid2) is not running"
nspid=$(awk '/^NSpid:/ { print $2 " " $NF }' "/proc/$pid2/status")
[ "$nspid" = "$pid2 1" ] || fail "NSpid of $pid2: '$nspid', expected '$pid2 1' (pid 1 of a new pid namespace)"
[ "$(readlink "/proc/$pid2/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] ||
	fail "ember $pid2 is in this shell's pid namespace"
sid=$(sed 's/.*) //' "/proc/$pid2/stat" | cut -d' ' -f4)
[ "$sid" != "$(sed 's/.*) //' /proc/self/stat | cut -d' ' -f4)" ] || fail "ember $pid2 did not get a new session"
[ "$(readlink "/proc/$pid2/fd/1")" = /dev/null ] || fail "ember's stdout is $(readlink "/proc/$pid2/fd/1")"
t=$(now)
while alive "$pid2"; do
	awk -v a="$t" -v b="$(now)" -v l="$E2E_TIMEOUT" 'BEGIN { exit !(b - a > l) }' &&
		kill -KILL "$pid2" && fail "the daemonized ember still ran after $E2E_TIMEOUT s"
	sleep 0.2
done
head -c 512 "$root2/disk.img" | tr -d '\0' >g2.disk
grep -qx "rng=virtio_rng.0" g2.disk || fail "the daemonized guest's disk says: $(cat g2.disk)"
note "daemonized, pid ns: ember $pid2 (NSpid $nspid) ran the guest to poweroff"
