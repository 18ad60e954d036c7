# shellcheck shell=sh
# flintlock's start: no API at all, `firecracker --id X --boot-timer --no-api --config-file F
# --metadata M`, logger and metrics on regular files (it parses the last metrics line), stop
# with SIGHUP and a 10 s wait. Checks: the guest reaches init, no API socket exists, SIGHUP
# ends ember with status 0 within 10 s, the log file has ember's lines and the metrics file's
# last line is JSON with the devices' counters.
api_guest g <<'G'
fact ready 1
G
cat >c.json <<EOF
{
  "boot-source": {"kernel_image_path": "$GUEST_KERNEL", "boot_args": "$GUEST_ARGS", "initrd_path": "$PWD/g.initrd"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256},
  "entropy": {"rate_limiter": {"bandwidth": {"size": 65536, "refill_time": 100}}},
  "logger": {"log_path": "$PWD/fl.log", "level": "Info"},
  "metrics": {"metrics_path": "$PWD/fl.metrics"}
}
EOF
echo '{"latest": {"meta-data": {"instance-id": "fl-vm"}}}' >m.json
ember_start g firecracker --id fl-vm --boot-timer --no-api --config-file c.json --metadata m.json
wait_for g 'E2E_FACT ready=1' 120
ls ./*.sock /run/firecracker.socket 2>/dev/null && fail "an API socket exists with --no-api"
kill -HUP "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 10
expect_status 0
grep -q 'stopping the VM' fl.log || fail "the log file has no stop line: $(cat fl.log)"
"$E2E_API_TEST" lines fl.metrics >/dev/null || fail "fl.metrics is not JSON lines: $(cat fl.metrics)"
"$E2E_API_TEST" json fl.metrics utc_timestamp_ms >/dev/null || fail "no utc_timestamp_ms"
plugin=$("$E2E_API_TEST" json fl.metrics devices.entropy.plugin) || fail "no entropy device in the metrics"
[ "$plugin" = virtio-rng ] || fail "the entropy device's plugin is '$plugin'"
note "last metrics line: $(tail -n 1 fl.metrics | cut -c1-200)"
