# shellcheck shell=sh
# virtio-blk read_only: the guest sees a read-only disk (/sys/block/vda/ro = 1), reads what the
# host put there, cannot write it, and the image is unchanged afterwards.
dd if=/dev/zero of=disk.img bs=1048576 count=8 2>/dev/null
printf 'ember-read-only-disk' | dd of=disk.img conv=notrunc 2>/dev/null
before=$(sha256sum disk.img | cut -d' ' -f1)
DEVICES='{ plugin = "virtio-blk"; path = "disk.img"; read_only = true; }'
guest g 1 256 poweroff <<'G'
fact ro "$(cat /sys/block/vda/ro)"
fact head "$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 20)"
if dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; then fact write allowed; else fact write refused; fi
if mkfs.ext4 -q -F /dev/vda 2>/dev/null; then fact mkfs allowed; else fact mkfs refused; fi
G
ember_run g run g.cfg
expect_status 0
expect_fact g ro 1
expect_fact g head ember-read-only-disk
expect_fact g write refused
expect_fact g mkfs refused
[ "$(sha256sum disk.img | cut -d' ' -f1)" = "$before" ] || fail "the read-only image changed"
