# shellcheck shell=sh
# virtio-vsock flow control and hang-ups (tests/e2e/vsock-test.c at both ends). A reader that
# does not read for 8 s, on either side, makes the 64 MiB writer wait, not ember's memory grow
# (its VmRSS is sampled meanwhile), and afterwards every byte arrives (hash). An L1 server that
# closes after 1 MB mid-stream ends the guest's writer with an error instead of a hang; a guest
# writer killed mid-stream (SIGKILL) ends L1's reader with EOF, and an L1 writer killed
# mid-stream ends the guest's reader; new connections work after each.
GUEST_BINS=$E2E_VSOCK_TEST
vt=$E2E_VSOCK_TEST
uds=$E2E_CASE_DIR/v.sock
s1=$("$vt" serve "unix:${uds}_5002" --sink --delay 8 --log l1-slow.log --background) &&
	s2=$("$vt" serve "unix:${uds}_5004" --abort-after 1000000 --log l1-abort.log --background) &&
	s3=$("$vt" serve "unix:${uds}_5005" --sink --log l1-killed.log --background) &&
	s4=$("$vt" serve "unix:${uds}_5001" --log l1-echo.log --background) ||
	fail "cannot start L1's servers"
DEVICES="{ id = \"vsock\"; plugin = \"virtio-vsock\"; guest_cid = 3; uds_path = \"$uds\"; }"
guest g 1 256 poweroff <<'G'
# --background returns once the server listens.
vsock-test serve vsock:5003 --sink --delay 8 --log /tmp/slow.log --background >/dev/null
vsock-test serve vsock:5006 --sink --log /tmp/killed.log --background >/dev/null
vsock-test serve vsock:5000 --log /tmp/echo.log --background >/dev/null
echo E2E_READY
vsock-test client vsock:2:5002 --bytes 67108864 --sink >/tmp/slow-client.log 2>&1
fact g2h_slow "$(tail -n 1 /tmp/slow-client.log)"
vsock-test client vsock:2:5004 --bytes 16777216 --expect-abort --timeout 60 >/tmp/abort.log 2>&1
fact g2h_abort "$(grep -v ' connected$' /tmp/abort.log | head -n 1)"
vsock-test client vsock:2:5005 --bytes 1073741824 --sink >/tmp/victim.log 2>&1 &
victim=$!
# Killed 2 s into the stream (not before it started).
i=0
while ! grep -q 'connected$' /tmp/victim.log && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
sleep 2
kill -KILL $victim
vsock-test client vsock:2:5001 --bytes 1048576 >/tmp/after.log 2>&1
fact g2h_after "$(tail -n 1 /tmp/after.log)"
echo E2E_GUEST_SIDE_DONE
# Wait (at most 300 s) until L1 says its side is done.
i=0
while [ $i -lt 3000 ]; do
	vsock-test client vsock:2:5009 --bytes 1 --sink >/dev/null 2>&1 && break
	sleep 0.1
	i=$((i + 1))
done
sleep 1
fact slow_served "$(grep -c 'read 67108864 bytes .* ended eof, trailer sent' /tmp/slow.log)"
fact killed_accepted "$(grep -c 'serve conn 0: accepted' /tmp/killed.log)"
fact killed_ended "$(grep -c 'serve conn 0: read [0-9]* bytes .* ended' /tmp/killed.log)"
fact killed_log "$(tail -n 1 /tmp/killed.log)"
G
rss() { sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$EMBER_PID/status"; }
ember_start g run g.cfg
wait_for g '^E2E_READY'
# L1 -> guest: the guest's server does not read for 8 s.
"$vt" client "hybrid:$uds:5003" --bytes 67108864 --sink >h2g-slow.log 2>&1 &
c1=$!
sleep 2
rss_a=$(rss)
sleep 5
rss_b=$(rss)
wait $c1
h2g_slow=$(tail -n 1 h2g-slow.log)
# An L1 writer killed mid-stream, then a new connection.
"$vt" client "hybrid:$uds:5006" --bytes 1073741824 --sink >victim.log 2>&1 &
c2=$!
i=0
while ! grep -q 'connected$' victim.log && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'connected$' victim.log || fail "L1's writer to guest port 5006 never connected: $(cat victim.log)"
sleep 2
kill -KILL $c2
wait $c2 2>/dev/null
"$vt" client "hybrid:$uds:5000" --bytes 1048576 >h2g-after.log 2>&1
h2g_after=$(tail -n 1 h2g-after.log)
wait_for g '^E2E_GUEST_SIDE_DONE' 200
s5=$("$vt" serve "unix:${uds}_5009" --sink --log l1-done.log --background)
ember_wait
kill "$s1" "$s2" "$s3" "$s4" "$s5" 2>/dev/null
expect_status 0
note "L1->guest, reader paused 8 s: $h2g_slow; ember VmRSS ${rss_a} kB then ${rss_b} kB while blocked"
note "guest->L1, reader paused 8 s: $(fact g g2h_slow)"
note "guest->L1, L1 closes after 1 MB: $(fact g g2h_abort)"
note "guest writer killed: L1 saw '$(tail -n 1 l1-killed.log)'; L1 writer killed: guest saw '$(fact g killed_log)'"
grep -q 'serve conn 0: accepted' l1-killed.log || fail "the guest's writer to L1 port 5005 never connected"
case $h2g_slow in "VSOCK-TEST ok conns=1 "*) ;; *) fail "L1 -> guest 64 MiB to a paused reader: $h2g_slow" ;; esac
[ -n "$rss_a" ] && [ -n "$rss_b" ] && [ $((rss_b - rss_a)) -lt 16384 ] ||
	fail "ember's VmRSS grew from ${rss_a} to ${rss_b} kB while the guest's reader was paused"
case $(fact g g2h_slow) in "VSOCK-TEST ok conns=1 "*) ;; *) fail "guest -> L1 64 MiB to a paused reader: $(fact g g2h_slow)" ;; esac
grep -q 'read 67108864 bytes .* ended eof, trailer sent' l1-slow.log ||
	fail "L1's paused reader did not get all 64 MiB: $(tail -n 1 l1-slow.log)"
expect_fact g slow_served 1
case $(fact g g2h_abort) in "conn 0 ok-aborted "*) ;; *) fail "guest writer after L1 closed mid-stream: $(fact g g2h_abort)" ;; esac
grep -q 'serve conn 0: read [0-9]* bytes .* ended' l1-killed.log ||
	fail "L1's reader did not see the killed guest writer's connection end: $(tail -n 1 l1-killed.log)"
expect_fact g killed_accepted 1
expect_fact g killed_ended 1
case $(fact g g2h_after) in "VSOCK-TEST ok conns=1 "*) ;; *) fail "guest -> L1 after the hang-ups: $(fact g g2h_after)" ;; esac
case $h2g_after in "VSOCK-TEST ok conns=1 "*) ;; *) fail "L1 -> guest after the hang-ups: $h2g_after" ;; esac
