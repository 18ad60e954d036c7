# shellcheck shell=sh
# virtio-blk: the guest makes an ext4 file system on a fresh sparse image, writes a 64 MiB file,
# syncs and unmounts; after ember exits, the host reads the same bytes out of the image with
# debugfs (e2fsprogs) and the checksums match. Also: discard reached the image (mkfs trims it).
truncate -s 256M disk.img || fail "cannot create the image"
DEVICES='{ plugin = "virtio-blk"; path = "disk.img"; }'
guest g 1 256 poweroff <<'G'
fact features "$(cat /sys/block/vda/queue/discard_max_bytes) $(cat /sys/block/vda/queue/write_zeroes_max_bytes)"
mkfs.ext4 -q -F /dev/vda && fact mkfs ok
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && fact mount ok
t0=$(cut -d' ' -f1 /proc/uptime)
dd if=/dev/urandom of=/mnt/big bs=1048576 count=64 2>/dev/null
sync
fact write_s "$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')"
fact sum "$(sha256sum /mnt/big | cut -d' ' -f1)"
umount /mnt && fact umount ok
G
ember_run g run g.cfg
expect_status 0
expect_fact g mkfs ok
expect_fact g mount ok
expect_fact g umount ok
[ "$(fact g features)" != "0 0" ] || fail "the guest sees neither discard nor write-zeroes"
want=$(fact g sum)
[ -n "$want" ] || fail "no checksum from the guest"
got=$(debugfs -R "cat /big" disk.img 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "debugfs reads $got from the image, the guest wrote $want"
e2fsck -fn disk.img >fsck.log 2>&1 || fail "e2fsck finds errors: $(tail -n 3 fsck.log)"
note "64 MiB written + synced in $(fact g write_s) s (guest), ember run $SECS s"
