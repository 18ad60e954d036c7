# shellcheck shell=sh
# `ember check` creates every device, as `ember run` would, without KVM: a virtio-blk whose
# image is missing is refused with status 2 and one line naming the config and line, the
# device and the file; with the image there the same config passes. `ember plugins` on a folder
# that does not exist, or that holds no plugin, says so on stderr and fails.
DEVICES='{ plugin = "virtio-rng"; }, { plugin = "virtio-blk"; path = "no-such.img"; }'
guest g 1 256 poweroff </dev/null
line=$(grep -n 'no-such.img' g.cfg | cut -d: -f1)
[ -n "$line" ] || fail "could not write the config"

ember_run check check "$PWD/g.cfg"
expect_status 2
[ "$(grep -c . check.err)" = 1 ] || fail "expected one stderr line, got: $(cat check.err)"
# The create failure reads "g.cfg:LINE: devices[1] (virtio-blk.0): path ...no-such.img...";
# should virtio-blk one day declare its path EMBER_OPTION_PATH_EXISTS, the option check
# refuses it first as "g.cfg:LINE: devices[1].path: ...no-such.img... does not exist".
grep -Eq "g\.cfg:$line: devices\[1\]( \(virtio-blk\.0\): |\.path: ).*no-such\.img" check.err ||
	fail "the line does not name g.cfg:$line, devices[1] (virtio-blk.0) and the file: $(cat check.err)"
[ ! -s check.out ] || fail "ember check printed something on stdout: $(cat check.out)"

dd if=/dev/zero of=disk.img bs=1024 count=1024 2>/dev/null || fail "cannot make disk.img"
sed 's/no-such\.img/disk.img/' g.cfg >ok.cfg
ember_run ok check "$PWD/ok.cfg"
expect_status 0
grep -q 'ok\.cfg: ok' ok.out || fail "ember check did not say ok: $(cat ok.out ok.err)"

ember_run plugins plugins /nonexistent
expect_status 2
grep -q '^ember: error: /nonexistent: no such folder$' plugins.err ||
	fail "ember plugins /nonexistent: $(cat plugins.err)"
mkdir -p empty
ember_run empty plugins "$PWD/empty"
expect_status 1
grep -q "^ember: $PWD/empty: no plugins here\$" empty.err || fail "ember plugins EMPTY: $(cat empty.err)"
