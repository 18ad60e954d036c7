# shellcheck shell=sh
# firecracker-go-sdk's boot sequence, replayed with curl exactly as its client sends it (the
# bodies, their order, its headers): exec `firecracker --api-sock S --id ID --no-seccomp`, wait
# for the socket, then logger, metrics, machine-config, boot-source, the extra drive and the
# root drive last, vsock, InstanceStart; the guest reaches its init and sees both disks. Then
# what the SDK calls at run time: GET /version, GET /, GET /vm/config, PATCH /vm (a guest loop
# stops while paused and goes on after), FlushMetrics (JSON lines), a pre-boot PUT refused with
# Firecracker's message, and SendCtrlAltDel, which ends the VM (status 0, socket removed).
api_guest g <<'G'
echo 1 >/proc/sys/kernel/ctrl-alt-del
fact vda_bytes "$(($(cat /sys/block/vda/size) * 512))"
fact vdb_bytes "$(($(cat /sys/block/vdb/size) * 512))"
fact ready 1
i=0
while :; do
	i=$((i + 1))
	echo "tick $i $(cut -d' ' -f1 /proc/uptime)"
	sleep 0.2
done
G
dd if=/dev/zero of=root.img bs=1M count=4 2>/dev/null
dd if=/dev/zero of=data.img bs=1M count=2 2>/dev/null
API_SOCK=$PWD/fc.sock
ember_start g firecracker --api-sock "$API_SOCK" --id go-sdk-vm --no-seccomp
wait_socket "$API_SOCK"
api_expect 200 GET /machine-config
api_expect 204 PUT /logger "{\"log_path\":\"$PWD/fc.log\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":true}"
api_expect 204 PUT /metrics "{\"metrics_path\":\"$PWD/fc.metrics\"}"
api_expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256,"smt":false}'
api_expect 200 GET /machine-config
[ "$(api_json mem_size_mib)" = 256 ] || fail "GET /machine-config after the PUT: $(cat api.body)"
api_expect 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST_KERNEL\",\"boot_args\":\"$GUEST_ARGS\",\"initrd_path\":\"$PWD/g.initrd\"}"
api_expect 204 PUT /drives/data '{"drive_id":"data","is_read_only":true,"is_root_device":false,"path_on_host":"data.img"}'
api_expect 204 PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"is_read_only\":false,\"is_root_device\":true,\"path_on_host\":\"$PWD/root.img\"}"
api_expect 204 PUT /vsock '{"vsock_id":"vsock0","guest_cid":3,"uds_path":"v.sock"}'
api_expect 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for g 'E2E_FACT ready=1' 120
expect_fact g vda_bytes 4194304
expect_fact g vdb_bytes 2097152
api_expect 200 GET /version
api_expect 200 GET /
[ "$(api_json state)" = Running ] || fail "GET / while running: $(cat api.body)"
[ "$(api_json id)" = go-sdk-vm ] || fail "GET / has the wrong id: $(cat api.body)"
api_expect 200 GET /vm/config
[ "$(api_json 'drives.[1].drive_id')" = rootfs ] || fail "GET /vm/config: $(cat api.body)"

ticks() { tr -d '\r' <g.out | grep -c '^tick '; }
api_expect 204 PATCH /vm '{"state":"Paused"}'
api_expect 200 GET /
[ "$(api_json state)" = Paused ] || fail "GET / while paused: $(cat api.body)"
sleep 0.5
t1=$(ticks)
sleep 3
t2=$(ticks)
[ "$t2" -le "$((t1 + 1))" ] || fail "the guest went on while paused: $t1 then $t2 ticks"
last=$(tr -d '\r' <g.out | grep '^tick ' | tail -n 1 | cut -d' ' -f3)
api_expect 204 PATCH /vm '{"state":"Resumed"}'
sleep 2
t3=$(ticks)
[ "$t3" -ge "$((t2 + 3))" ] || fail "the guest did not go on after Resumed: $t2 then $t3 ticks"
first=$(tr -d '\r' <g.out | grep '^tick ' | sed -n "$((t2 + 1))p" | cut -d' ' -f3)
note "paused 3.5 s: $((t2 - t1)) ticks while paused, $((t3 - t2)) in the 2 s after; guest uptime $last -> $first across the pause"

api_expect 204 PUT /actions '{"action_type":"FlushMetrics"}'
n=$("$E2E_API_TEST" lines fc.metrics) || fail "fc.metrics has a line that is not JSON"
"$E2E_API_TEST" json fc.metrics api_server.requests >/dev/null || fail "no api_server group in the metrics"
"$E2E_API_TEST" json fc.metrics devices.rootfs.plugin >/dev/null || fail "no rootfs device in the metrics: $(tail -n 1 fc.metrics)"
api_expect 400 PUT /machine-config '{"vcpu_count":2,"mem_size_mib":256}'
case $(api_json fault_message) in
*"not supported after starting"*) ;;
*) fail "PUT /machine-config after boot: $(cat api.body)" ;;
esac
grep -q 'api: PUT /machine-config: 400' fc.log || fail "the logger's file has no debug line for the refused request"
api_expect 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 60
expect_status 0
[ ! -e "$API_SOCK" ] || fail "the API socket is still there after ember ended"
note "$n metrics lines; SendCtrlAltDel ended ember after $SECS s in all"
