# shellcheck shell=sh
# Root on virtio-blk: tools/rootfs-image turns a folder (busybox and an /sbin/init) into an ext4
# image; the default initramfs with ember.root=/dev/vda mounts it and switch_roots into it.
mkdir -p rootfs/bin rootfs/sbin rootfs/dev rootfs/proc rootfs/sys rootfs/etc
# A static busybox: L1's own (/bin/busybox), or the host's from busybox-static in direct mode.
bb=/bin/busybox
[ -x "$bb" ] || bb=$(command -v busybox)
cp "$bb" rootfs/bin/busybox || fail "no busybox to put in the root"
for a in sh cat mount awk poweroff sync echo; do ln -s busybox "rootfs/bin/$a"; done
echo "ember root on virtio-blk" >rootfs/etc/marker
cat >rootfs/sbin/init <<'I'
#!/bin/sh
echo "E2E_FACT pid=$$"
echo "E2E_FACT root=$(awk '$2 == "/" { print $1 }' /proc/mounts | tail -n 1)"
echo "E2E_FACT marker=$(cat /etc/marker)"
echo hello >/written && sync && echo "E2E_FACT rw=ok"
poweroff -f
I
chmod 755 rootfs/sbin/init
"$(e2e_tool rootfs-image)" --size 32 rootfs root.img >rootfs.log 2>&1 || fail "rootfs-image: $(cat rootfs.log)"
DEVICES='{ plugin = "virtio-blk"; path = "root.img"; }'
guest g 1 256 poweroff "ember.root=/dev/vda" </dev/null
ember_run g run g.cfg
expect_status 0
expect_fact g pid 1
expect_fact g root /dev/vda
expect_fact g marker "ember root on virtio-blk"
expect_fact g rw ok
[ "$(debugfs -R "cat /written" root.img 2>/dev/null)" = hello ] || fail "/written is not in the image"
