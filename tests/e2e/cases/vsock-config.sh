# shellcheck shell=sh
# virtio-vsock's options and its socket file, checked by `ember check` (which creates the
# device as `ember run` would): a reserved guest_cid and a uds_path whose folder is missing are
# refused with status 2 and one line naming the config's line and the key; a uds_path another
# process listens on is refused as in use; a stale socket file (its listener gone) is replaced
# with a note; a regular file there is refused and left alone. Then a guest's driver binds to
# the device and reads the guest_cid from its config space.
vt=$E2E_VSOCK_TEST
uds=$E2E_CASE_DIR/v.sock
vsock() { DEVICES="{ plugin = \"virtio-vsock\"; guest_cid = $1; uds_path = \"$2\"; }"; }

refused() { # TAG CONFIG LINE-PATTERN WHAT
	ember_run "$1" check "$PWD/$2.cfg"
	expect_status 2
	[ "$(grep -c . "$1.err")" = 1 ] || fail "$4: expected one stderr line, got: $(cat "$1.err")"
	grep -Eq "$3" "$1.err" || fail "$4: the message does not match /$3/: $(cat "$1.err")"
}

vsock 2 "$uds"
guest cid 1 256 poweroff </dev/null
line=$(grep -n 'guest_cid = 2' cid.cfg | cut -d: -f1)
refused cid cid "cid\.cfg:$line: devices\[0\]\.guest_cid" "guest_cid = 2"

vsock 3 "$E2E_CASE_DIR/no-such-dir/v.sock"
guest dir 1 256 poweroff </dev/null
line=$(grep -n 'no-such-dir' dir.cfg | cut -d: -f1)
refused dir dir "dir\.cfg:$line: devices\[0\]\.uds_path: .*no-such-dir" "a missing folder"

# Someone listens on the path: in use, and the socket is left to its owner.
busy=$("$vt" serve "unix:$uds" --log busy.log --background) || fail "cannot start the listener"
vsock 3 "$uds"
guest inuse 1 256 poweroff </dev/null
refused inuse inuse "inuse\.cfg:[0-9]+: devices\[0\].*v\.sock.*in use" "a live listener"
kill "$busy"
i=0
while alive "$busy" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
# Its listener is gone (killed: nobody unlinked the file): stale, replaced, then removed again.
[ -S "$uds" ] || fail "the test's listener left no socket file"
ember_run stale check "$PWD/inuse.cfg"
expect_status 0
grep -qi 'stale' stale.err || fail "no word about the stale socket file: $(cat stale.err)"
[ ! -e "$uds" ] || fail "ember check left $uds behind"

echo data >"$uds"
refused file inuse "inuse\.cfg:[0-9]+: devices\[0\].*v\.sock.*not a socket" "a regular file"
[ "$(cat "$uds")" = data ] || fail "ember touched the regular file at uds_path"
rm -f "$uds"

# The guest's driver binds to the device and has the configured CID.
GUEST_BINS=$vt
vsock 7 "$uds"
guest g 1 256 poweroff <<'G'
fact bound "$(ls -d /sys/bus/virtio/drivers/vmw_vsock_virtio_transport/virtio* 2>/dev/null | wc -l)"
fact cid "$(vsock-test cid 2>&1)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g bound 1
expect_fact g cid 7
