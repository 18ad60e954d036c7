# shellcheck shell=sh
# virtio-blk config errors: a missing image stops ember before the guest starts, with a message
# that names the device and the path.
DEVICES='{ plugin = "virtio-blk"; path = "no-such.img"; }'
guest g 1 256 poweroff </dev/null
ember_run g run g.cfg
expect_status 2
grep -q 'devices\[0\] (virtio-blk\.0): path "[^"]*no-such\.img": cannot open' g.err ||
	fail "no message naming virtio-blk.0 and the path: $(head -n 3 g.err)"
[ ! -s g.out ] || fail "a guest started"
