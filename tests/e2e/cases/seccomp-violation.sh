# shellcheck shell=sh
# seccomp: a plugin (tests/unit/plugins/tp_seccomp.c) whose timer callback, on the event loop
# once the guest runs, calls socket(AF_INET) without declaring it: ember stops with one line
# naming the syscall, the thread, the device and the plugin, and exit status 148. The same
# plugin built declaring socket(AF_INET) for the event loop runs: the guest reaches its script
# and powers off with status 0. With --no-seccomp the undeclared call runs too, after one
# warning line.
dir=$(test_plugins_dir)
for p in tp-seccomp tp-seccomp-ok; do
	[ -f "$dir/$p.so" ] || fail "no test plugin $dir/$p.so (build the unit tests)"
done
mkdir -p plugins
cp "$dir/tp-seccomp.so" "$dir/tp-seccomp-ok.so" plugins/
PLUGIN_DIRS='"plugins"'

DEVICES='{ plugin = "tp-seccomp"; id = "bad"; }'
guest bad 1 256 poweroff <<'G'
echo E2E_WAITING
sleep 5
G
ember_run bad run bad.cfg
expect_status 148
want='ember: error: seccomp: thread main (device tp-seccomp.0, plugin tp-seccomp) made a forbidden syscall: socket (41); ember stops'
grep -qxF "$want" bad.err || fail "no seccomp report in bad.err: $(grep seccomp bad.err)"

DEVICES='{ plugin = "tp-seccomp-ok"; id = "ok"; }'
guest ok 1 256 poweroff <<'G'
sleep 3
fact reached yes
G
ember_run ok run ok.cfg
expect_status 0
expect_fact ok reached yes
grep -q 'tp-seccomp-ok.0: socket(AF_INET): opened' ok.err || fail "the declared socket call did not run: $(tail -n 3 ok.err)"

ember_run off run --no-seccomp bad.cfg
expect_status 0
grep -q '^ember: warning: seccomp is off' off.err || fail "no warning that seccomp is off: $(head -n 3 off.err)"
grep -q 'tp-seccomp.0: socket(AF_INET): opened' off.err || fail "the call did not run without seccomp"
