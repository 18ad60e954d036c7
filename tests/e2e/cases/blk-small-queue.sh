# shellcheck shell=sh
# virtio-blk on small queues: seg_max follows queue_size (queue_size - 3: the header, the status
# byte and the indirect descriptor), so a stock Linux guest's largest requests fit one chain of
# the queue. Linux splits a 1 MiB O_DIRECT transfer into requests of max_segments = seg_max
# segments and sends each as one indirect chain; with seg_max 126 on every queue, as before, the
# first such request on a queue of 128 or less was refused by ember's queue walker, the disk went
# to NEEDS_RESET and the dd never finished. Two disks: the smallest queue (4) and 8.
truncate -s 16M q4.img && truncate -s 16M q8.img || fail "cannot create the images"
DEVICES='{ plugin = "virtio-blk"; path = "q4.img"; serial = "q4"; queue_size = 4; },
  { plugin = "virtio-blk"; path = "q8.img"; serial = "q8"; queue_size = 8; }'
guest g 1 256 poweroff <<'G'
dd if=/dev/urandom of=/pat bs=1048576 count=8 2>/dev/null
fact pat "$(sha256sum /pat | cut -d' ' -f1)"
for d in /sys/block/vd*; do
	s=$(cat "$d/serial")
	dev=/dev/${d##*/}
	fact "${s}_segs" "$(cat "$d/queue/max_segments")"
	dd if=/pat of="$dev" bs=1048576 count=8 oflag=direct 2>/dev/null && fact "${s}_write" ok
	fact "${s}_back" "$(dd if="$dev" bs=1048576 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
done
G
ember_run g run g.cfg
expect_status 0
! grep -q "needs reset" g.err || fail "$(grep -m 1 "needs reset" g.err)"
expect_fact g q4_segs 1
expect_fact g q8_segs 5
want=$(fact g pat)
[ -n "$want" ] || fail "no checksum from the guest"
for q in q4 q8; do
	expect_fact g "${q}_write" ok
	expect_fact g "${q}_back" "$want"
	got=$(head -c 8388608 "$q.img" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$q.img holds $got, the guest wrote $want"
done
note "8 MiB written and read back with O_DIRECT on queues of 4 and 8, ember run $SECS s"
