# shellcheck shell=sh
# virtio-blk discard: a 64 MiB file written to ext4 allocates the image's blocks; after the
# guest deletes it and runs fstrim, the image's allocated size drops by most of 64 MiB.
truncate -s 256M disk.img || fail "cannot create the image"
DEVICES='{ plugin = "virtio-blk"; path = "disk.img"; }'
guest fill 1 256 poweroff <<'G'
mkfs.ext4 -q -F /dev/vda && mkdir -p /mnt && mount -t ext4 /dev/vda /mnt &&
	dd if=/dev/urandom of=/mnt/big bs=1048576 count=64 2>/dev/null && sync && umount /mnt &&
	fact filled ok
G
ember_run fill run fill.cfg
expect_status 0
expect_fact fill filled ok
full_k=$(du -k disk.img | cut -f1)
[ "$full_k" -gt 65536 ] || fail "only $full_k KiB allocated after writing 64 MiB"
guest trim 1 256 poweroff <<'G'
mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && rm /mnt/big && sync && fact trimmed "$(fstrim -v /mnt)"
umount /mnt && fact umount ok
G
ember_run trim run trim.cfg
expect_status 0
expect_fact trim umount ok
[ -n "$(fact trim trimmed)" ] || fail "fstrim failed in the guest"
after_k=$(du -k disk.img | cut -f1)
# "Most of 64 MiB": at least 56 MiB given back to the host.
[ $((full_k - after_k)) -ge 57344 ] ||
	fail "allocated size went from $full_k KiB to $after_k KiB only (fstrim: $(fact trim trimmed))"
note "allocated $full_k KiB -> $after_k KiB after rm + fstrim"
