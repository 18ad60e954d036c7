# shellcheck shell=sh
# Kata Containers' use of Firecracker, replayed: it reads `firecracker --version` (the second
# word of the first line, less its "v"); starts `firecracker --api-sock S --config-file C`
# with eight zero-length placeholder drives; polls GET / until "Running"; finds the vCPU
# threads by their names ("fc_vcpu 0"); hot-plugs a disk with PATCH /drives/drive_0 (a rate
# limiter of {} as Kata sends it), which the guest then sees at its new size and reads; stops
# ember with SIGTERM. Seccomp stays on (Kata does not turn it off).
ver=$("$E2E_EMBER" firecracker --version | head -n 1 | cut -d' ' -f2)
echo "$ver" | grep -qE '^v[0-9]+\.[0-9]+\.[0-9]+$' || fail "firecracker --version: '$ver' is not vX.Y.Z"
api_guest g <<'G'
fact placeholder_sectors "$(cat /sys/block/vda/size)"
fact ready 1
n=0
while [ "$(cat /sys/block/vda/size)" = 0 ] && [ $n -lt 600 ]; do
	sleep 0.1
	n=$((n + 1))
done
fact vda_sectors "$(cat /sys/block/vda/size)"
fact vda_md5 "$(dd if=/dev/vda bs=4096 count=256 2>/dev/null | md5sum | cut -d' ' -f1)"
G
drives=''
for i in 0 1 2 3 4 5 6 7; do
	: >"placeholder$i"
	drives="$drives${drives:+,}{\"drive_id\":\"drive_$i\",\"path_on_host\":\"$PWD/placeholder$i\",\"is_root_device\":false,\"is_read_only\":false}"
done
cat >c.json <<EOF
{
  "boot-source": {"kernel_image_path": "$GUEST_KERNEL", "boot_args": "$GUEST_ARGS", "initrd_path": "$PWD/g.initrd"},
  "machine-config": {"vcpu_count": 1, "mem_size_mib": 256, "smt": false},
  "drives": [$drives]
}
EOF
dd if=/dev/urandom of=disk.img bs=1M count=1 2>/dev/null
want=$(md5sum <disk.img | cut -d' ' -f1)
API_SOCK=$PWD/kata.sock
ember_start g firecracker --api-sock "$API_SOCK" --config-file c.json
wait_socket "$API_SOCK"
n=0
while :; do
	api GET /
	[ "$(api_json state)" = Running ] && break
	n=$((n + 1))
	[ $n -lt 100 ] || fail "GET / never said Running: $(cat api.body)"
	sleep 0.1
done
wait_for g 'E2E_FACT ready=1' 120
expect_fact g placeholder_sectors 0
grep -qx 'fc_vcpu 0' /proc/"$EMBER_PID"/task/*/comm || fail "no thread named 'fc_vcpu 0': $(cat /proc/"$EMBER_PID"/task/*/comm | tr '\n' ' ')"
seccomp=$(grep -h '^Seccomp:' /proc/"$EMBER_PID"/task/*/status | sort -u | tr -s '\t ' ' ')
[ "$seccomp" = "Seccomp: 2" ] || fail "not every thread is filtered: $seccomp"
api_expect 204 PATCH /drives/drive_0 "{\"drive_id\":\"drive_0\",\"path_on_host\":\"$PWD/disk.img\",\"rate_limiter\":{}}"
wait_for g 'E2E_FACT vda_md5=' 60
expect_fact g vda_sectors 2048
expect_fact g vda_md5 "$want"
api_expect 400 PATCH /drives/drive_1 "{\"drive_id\":\"drive_1\",\"path_on_host\":\"$PWD/missing.img\"}"
api_expect 200 GET /
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 15
expect_status 0
[ ! -e "$API_SOCK" ] || fail "the API socket is still there after ember ended"
