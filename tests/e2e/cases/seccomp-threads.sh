# shellcheck shell=sh
# seccomp: while the guest runs, every thread of ember (main/event loop, both vCPUs, a plugin's
# own thread, and io_uring's workers for virtio-blk) is under a seccomp filter: "Seccomp: 2" in
# /proc/PID/task/*/status. Also the devices still work under their filters.
dir=$(test_plugins_dir)
[ -f "$dir/tp-seccomp-ok.so" ] || fail "no test plugin $dir/tp-seccomp-ok.so (build the unit tests)"
mkdir -p plugins
cp "$dir/tp-seccomp-ok.so" plugins/
PLUGIN_DIRS='"plugins"'
truncate -s 64M disk.img || fail "cannot create the image"
DEVICES='{ plugin = "virtio-rng"; }, { plugin = "virtio-blk"; path = "disk.img"; },
  { plugin = "tp-seccomp-ok"; id = "ok"; }'
guest g 2 256 poweroff <<'G'
dd if=/dev/hwrng bs=4096 count=16 2>/dev/null | wc -c >/dev/null
dd if=/dev/zero of=/dev/vda bs=1M count=8 oflag=direct 2>/dev/null && fact write ok
echo E2E_RUNNING
sleep 1000
G
ember_start g run g.cfg
wait_for g '^E2E_RUNNING'
sleep 2
n=0
bad=''
for s in /proc/"$EMBER_PID"/task/*/status; do
	n=$((n + 1))
	m=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$s")
	[ "$m" = 2 ] || bad="$bad $(sed -n 's/^Name:[[:space:]]*//p' "$s")=$m"
done
note "$n threads: $(sed -n 's/^Name:[[:space:]]*//p' /proc/"$EMBER_PID"/task/*/status | tr '\n' ' ')"
[ -z "$bad" ] || fail "threads without a seccomp filter:$bad"
[ "$n" -ge 4 ] || fail "only $n threads (expected main, 2 vCPUs and the plugin's)"
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 20
expect_status 0
expect_fact g write ok
