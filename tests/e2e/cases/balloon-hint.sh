# shellcheck shell=sh
# Free page hinting, driven through the API as Firecracker's clients do (PUT /balloon with
# free_page_hinting, then PATCH /balloon/hinting/start and /stop, GET /balloon/hinting/status).
# The guest keeps a 64 MiB pattern (mem-touch) and writes and frees 200 MiB, which the host now
# backs. A hinting run (acknowledge_on_stop false) makes the stock driver hand its free blocks
# over and hold them until the host says DONE: ember's memory drops by >= 150 MiB; after
# /hinting/stop the guest has its memory back and every word of the pattern reads back.
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
GUEST_BINS=$E2E_MEM_TOUCH
# The guest's script: balloon.inc's guest functions (mfree, first_line; /fill is a ramfs), then
# this run. (Through a file: api_guest sets GUEST_KERNEL and GUEST_ARGS, which a pipe's
# subshell would lose.)
{
	echo "$BALLOON_GUEST_LIB"
	cat <<'G'
mem-touch hold 64 /tmp/mt &
i=0
while first_line /tmp/mt; [ "$_l" != filled ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
dd if=/dev/zero of=/fill/f bs=1M count=200 2>/dev/null
rm /fill/f
sleep 2
base=$(mfree)
fact ready "$base"
# The run: the driver takes the free blocks as hints (MemFree falls) and keeps them until DONE.
i=0
while [ "$(mfree)" -gt $((base - 100 * 1024)) ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
fact held "$(mfree)"
i=0
while [ "$(mfree)" -lt $((base - 32 * 1024)) ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
fact back "$(mfree)"
echo check >/tmp/mt
i=0
while first_line /tmp/mt; [ "$_l" = check ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
fact verdict "$(cat /tmp/mt)"
G
} >hint-guest.sh
api_guest g <hint-guest.sh
API_SOCK=$PWD/fc.sock
ember_start g firecracker --api-sock "$API_SOCK" --id hint-vm
wait_socket "$API_SOCK"
api_expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":512}'
api_expect 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST_KERNEL\",\"boot_args\":\"$GUEST_ARGS\",\"initrd_path\":\"$PWD/g.initrd\"}"
api_expect 204 PUT /balloon '{"amount_mib":0,"deflate_on_oom":false,"free_page_hinting":true}'
api_expect 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for g '^E2E_FACT ready=' 180
before=$(settle_mem_kb "$EMBER_PID")
api_expect 204 PATCH /balloon/hinting/start '{"acknowledge_on_stop":false}'
api_expect 200 GET /balloon/hinting/status
host_cmd=$(api_json host_cmd)
[ "${host_cmd:-0}" -ge 2 ] || fail "after /hinting/start the host's command id is not a run's: $(cat api.body)"
# The run is over when the guest's last command id is STOP (0) again, after it sent ours.
n=0
while :; do
	api_expect 200 GET /balloon/hinting/status
	[ "$(api_json guest_cmd)" = 0 ] && [ "$(api_json host_cmd)" = "$host_cmd" ] && [ $n -ge 2 ] && break
	n=$((n + 1))
	[ $n -lt 120 ] || fail "no end of the hinting run within 60 s: $(cat api.body)"
	sleep 0.5
done
wait_for g '^E2E_FACT held=' 60
after=$(settle_mem_kb "$EMBER_PID")
api_expect 204 PATCH /balloon/hinting/stop '{}'
api_expect 200 GET /balloon/hinting/status
[ "$(api_json host_cmd)" = 1 ] || fail "after /hinting/stop the host's command is not DONE: $(cat api.body)"
wait_for g '^E2E_FACT verdict=' 120
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 15
expect_status 0
note "hinting: ember $((before / 1024)) -> $((after / 1024)) MiB ($(((before - after) / 1024)) MiB back);" \
	"guest MemFree $(($(fact g ready) / 1024)) -> $(($(fact g held) / 1024)) MiB during the run," \
	"$(($(fact g back) / 1024)) MiB after DONE; $(fact g verdict)"
[ $((before - after)) -ge $((150 * 1024)) ] ||
	fail "hinting gave back $(((before - after) / 1024)) MiB (< 150 of the 200 the guest freed)"
case $(fact g verdict) in ok*) ;; *) fail "the guest's pattern: $(fact g verdict)" ;; esac
