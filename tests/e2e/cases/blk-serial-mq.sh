# shellcheck shell=sh
# virtio-blk identity and queues: the serial (GET_ID) shows in /sys/block/vda/serial and, with
# num_queues = 2 on a 2-vCPU guest, two hardware queues show in /sys/block/vda/mq/.
truncate -s 16M disk.img || fail "cannot create the image"
DEVICES='{ plugin = "virtio-blk"; path = "disk.img"; serial = "ember-e2e-disk-01"; num_queues = 2; }'
guest g 2 256 poweroff <<'G'
fact serial "$(cat /sys/block/vda/serial)"
fact queues "$(ls /sys/block/vda/mq | wc -l)"
fact size "$(cat /sys/block/vda/size)"
# I/O from both vCPUs goes through both queues.
for c in 0 1; do taskset -c $c dd if=/dev/vda of=/dev/null bs=4096 count=64 skip=$((c * 64)) 2>/dev/null & done
wait
fact io ok
G
ember_run g run g.cfg
expect_status 0
expect_fact g serial ember-e2e-disk-01
expect_fact g queues 2
expect_fact g size 32768
expect_fact g io ok
