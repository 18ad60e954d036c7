# shellcheck shell=sh
# The balloon through the API, as firecracker-go-sdk and firecracker-containerd drive it:
# PUT /balloon before boot (statistics every second), then while the guest runs
# GET /balloon/statistics (total, free and available memory within 5 % of the guest's own
# /proc/meminfo), PATCH /balloon to a new target (the guest's MemTotal drops by it; GET /balloon
# reports it), PATCH /balloon/statistics, and back to 0 (the memory returns to the guest).
api_guest g <<'G'
fact ready 1
while :; do
	echo "meminfo $(awk '/^MemTotal:/ { t = $2 } /^MemFree:/ { f = $2 } /^MemAvailable:/ { a = $2 } END { print t, f, a }' /proc/meminfo)"
	sleep 1
done
G
API_SOCK=$PWD/fc.sock
ember_start g firecracker --api-sock "$API_SOCK" --id balloon-vm
wait_socket "$API_SOCK"
api_expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
api_expect 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST_KERNEL\",\"boot_args\":\"$GUEST_ARGS\",\"initrd_path\":\"$PWD/g.initrd\"}"
api_expect 204 PUT /balloon '{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":1}'
api_expect 200 GET /balloon
[ "$(api_json stats_polling_interval_s)" = 1 ] || fail "GET /balloon before boot: $(cat api.body)"
api_expect 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for g 'E2E_FACT ready=1' 120
wait_for g '^meminfo ' 30
sleep 4
api_expect 200 GET /balloon/statistics
line=$(tr -d '\r' <g.out | grep '^meminfo ' | tail -n 1)
set -- $line
within() { # WHAT GOT_BYTES WANT_KIB
	awk -v g="$2" -v w="$3" 'BEGIN { d = g / 1024 - w; if (d < 0) d = -d; exit !(w > 0 && d <= w * 0.05) }' ||
		fail "$1: the balloon says $2 bytes, the guest's /proc/meminfo $3 kB"
}
within total_memory "$(api_json total_memory)" "$2"
within free_memory "$(api_json free_memory)" "$3"
within available_memory "$(api_json available_memory)" "$4"
note "statistics: $(cut -c1-160 api.body)"
total0=$2
api_expect 204 PATCH /balloon '{"amount_mib":64}'
n=0
while :; do
	set -- $(tr -d '\r' <g.out | grep '^meminfo ' | tail -n 1)
	[ $((total0 - $2)) -ge $((60 * 1024)) ] && break
	n=$((n + 1))
	[ $n -lt 60 ] || fail "MemTotal went from $total0 to $2 kB, not down by 64 MiB, within 30 s"
	sleep 0.5
done
note "PATCH /balloon 64 MiB: MemTotal $total0 -> $2 kB"
api_expect 200 GET /balloon
[ "$(api_json amount_mib)" = 64 ] || fail "GET /balloon after PATCH: $(cat api.body)"
api_expect 204 PATCH /balloon/statistics '{"stats_polling_interval_s":2}'
api_expect 400 PATCH /balloon/statistics '{"stats_polling_interval_s":0}'
api_expect 204 PATCH /balloon '{"amount_mib":0}'
n=0
while :; do
	set -- $(tr -d '\r' <g.out | grep '^meminfo ' | tail -n 1)
	[ $((total0 - $2)) -le 1024 ] && break
	n=$((n + 1))
	[ $n -lt 60 ] || fail "MemTotal stayed at $2 kB after deflating (was $total0)"
	sleep 0.5
done
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 15
expect_status 0
