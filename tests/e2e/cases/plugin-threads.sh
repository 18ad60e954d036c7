# shellcheck shell=sh
# Threads a plugin starts in create (plain pthread_create, and host->thread_start) begin with
# SIGTERM blocked: ember blocks its stop signals before any device exists, so a signal always
# reaches the signalfd and teardown runs; SIGTERM then still ends the VM with status 0.
dir=$(test_plugins_dir)
[ -f "$dir/tp-sigmask.so" ] || fail "no test plugin $dir/tp-sigmask.so (build the unit tests)"
mkdir -p plugins
cp "$dir/tp-sigmask.so" plugins/
DEVICES='{ plugin = "tp-sigmask"; }'
PLUGIN_DIRS='"plugins"'
guest g 1 256 poweroff <<'G'
echo E2E_IDLE
sleep 1000
G
ember_start g run g.cfg
wait_for g '^E2E_IDLE'
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 10
expect_status 0
[ "$(grep -c 'tp-sigmask.0: thread: SIGTERM blocked' g.err)" = 2 ] ||
	fail "a plugin thread ran with SIGTERM unblocked: $(grep 'thread:' g.err)"
