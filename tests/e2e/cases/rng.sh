# shellcheck shell=sh
# virtio-rng: the stock guest binds virtio_rng through ACPI (LNRO0005 -> virtio_mmio) and reads
# 1 MiB of entropy from /dev/hwrng.
DEVICES='{ plugin = "virtio-rng"; }'
guest g 1 256 poweroff <<'G'
fact current "$(cat /sys/class/misc/hw_random/rng_current)"
fact bytes "$(dd if=/dev/hwrng bs=4096 count=256 2>/dev/null | wc -c)"
fact distinct "$(dd if=/dev/hwrng bs=4096 count=1 2>/dev/null | od -An -v -tx1 | tr ' ' '\n' | grep . | sort -u | wc -l)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g current virtio_rng.0
expect_fact g bytes 1048576
# 4096 random bytes take (nearly) all 256 values; a device that returns zeros does not.
[ "$(fact g distinct)" -gt 200 ] || fail "entropy looks wrong: $(fact g distinct) distinct byte values in 4 KiB"
