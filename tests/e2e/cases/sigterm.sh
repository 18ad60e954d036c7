# shellcheck shell=sh
# SIGTERM to ember while the guest idles ends it within a few seconds with status 0.
guest g 1 256 poweroff <<'G'
echo E2E_IDLE
sleep 1000
G
ember_start g run g.cfg
wait_for g '^E2E_IDLE'
sleep 1
alive "$EMBER_PID" || fail "ember ended before SIGTERM"
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 5
expect_status 0
note "ember ended $SECS s after SIGTERM"
