# shellcheck shell=sh
# virtio-vsock with Firecracker's hybrid protocol, checked by the guest's own driver
# (vmw_vsock_virtio_transport) and tests/e2e/vsock-test.c at both ends: 16 MiB echoed each way
# (L1 -> guest through uds_path and "CONNECT 5000"; guest -> CID 2 port 5001, which ember
# connects to <uds_path>_5001), then 64 concurrent connections each way. Every stream is checked
# by a hash both ends compute; each server sends a trailer after it saw EOF, so both sides of
# every connection go on sending after the other shut down writing (half-close).
GUEST_BINS=$E2E_VSOCK_TEST
vt=$E2E_VSOCK_TEST
uds=$E2E_CASE_DIR/v.sock
l1_server=$("$vt" serve "unix:${uds}_5001" --log l1-serve.log --background) ||
	fail "cannot start L1's server"
DEVICES="{ id = \"vsock\"; plugin = \"virtio-vsock\"; guest_cid = 3; uds_path = \"$uds\"; }"
guest g 1 256 poweroff <<'G'
vsock-test serve vsock:5000 --log /tmp/serve.log --background >/dev/null
echo E2E_READY
vsock-test client vsock:2:5001 --bytes 16777216 >/tmp/one.log 2>&1
fact g2h_one "$(tail -n 1 /tmp/one.log)"
vsock-test client vsock:2:5001 --bytes 262144 --conns 64 >/tmp/many.log 2>&1
fact g2h_many "$(tail -n 1 /tmp/many.log)"
grep FAIL /tmp/one.log /tmp/many.log | head -n 3
# Wait (at most 200 s) until L1 says its side is done, then report the guest server's view.
i=0
while [ ! -e /tmp/l1-done ] && [ $i -lt 2000 ]; do
	vsock-test client vsock:2:5009 --bytes 1 --sink >/dev/null 2>&1 && touch /tmp/l1-done
	sleep 0.1
	i=$((i + 1))
done
sleep 1
fact served "$(grep -c 'ended eof, trailer sent' /tmp/serve.log)"
G
ember_start g run g.cfg
wait_for g '^E2E_READY'
"$vt" client "hybrid:$uds:5000" --bytes 16777216 >h2g-one.log 2>&1
h2g_one=$(tail -n 1 h2g-one.log)
"$vt" client "hybrid:$uds:5000" --bytes 262144 --conns 64 >h2g-many.log 2>&1
h2g_many=$(tail -n 1 h2g-many.log)
wait_for g '^E2E_FACT g2h_many=' 200
# The guest polls port 5009 until this listener exists: then it reports and powers off.
done_server=$("$vt" serve "unix:${uds}_5009" --sink --log l1-done.log --background)
ember_wait
kill "$l1_server" "$done_server" 2>/dev/null
expect_status 0
note "L1->guest 1 conn: $h2g_one"
note "L1->guest 64 conns: $h2g_many"
note "guest->L1 1 conn: $(fact g g2h_one)"
note "guest->L1 64 conns: $(fact g g2h_many)"
case $h2g_one in "VSOCK-TEST ok conns=1 "*) ;; *) fail "L1 -> guest 16 MiB: $h2g_one ($(grep -v '^conn .* ok ' h2g-one.log | head -n 2))" ;; esac
case $h2g_many in "VSOCK-TEST ok conns=64 "*) ;; *) fail "L1 -> guest 64 connections: $h2g_many ($(grep FAIL h2g-many.log | head -n 2))" ;; esac
case $(fact g g2h_one) in "VSOCK-TEST ok conns=1 "*) ;; *) fail "guest -> L1 16 MiB: $(fact g g2h_one)" ;; esac
case $(fact g g2h_many) in "VSOCK-TEST ok conns=64 "*) ;; *) fail "guest -> L1 64 connections: $(fact g g2h_many)" ;; esac
# Both servers saw each connection end with EOF and still sent their trailer after it.
[ "$(grep -c 'ended eof, trailer sent' l1-serve.log)" = 65 ] ||
	fail "L1's server: $(grep -c 'ended eof, trailer sent' l1-serve.log) of 65 connections half-closed cleanly"
expect_fact g served 65
