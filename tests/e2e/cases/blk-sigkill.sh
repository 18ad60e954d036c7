# shellcheck shell=sh
# virtio-blk flush: data the guest wrote and fsync'ed is in the image even when ember is killed
# with SIGKILL right after the guest saw the fsync complete.
truncate -s 64M disk.img || fail "cannot create the image"
DEVICES='{ plugin = "virtio-blk"; path = "disk.img"; }'
guest g 1 256 none <<'G'
dd if=/dev/urandom of=/run/data bs=4096 count=256 2>/dev/null
dd if=/run/data of=/dev/vda bs=4096 seek=1024 conv=fsync 2>/dev/null &&
	fact synced "$(sha256sum /run/data | cut -d' ' -f1)"
G
ember_start g run g.cfg
wait_for g 'E2E_FACT synced=' 120
kill -KILL "$EMBER_PID"
ember_wait
[ "$STATUS" = 137 ] || fail "ember exit status $STATUS after SIGKILL, expected 137"
want=$(fact g synced)
got=$(dd if=disk.img bs=4096 skip=1024 count=256 2>/dev/null | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the image holds $got at 4 MiB, the guest fsync'ed $want"
