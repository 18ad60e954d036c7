# shellcheck shell=sh
# `ember run vm.cfg --api-sock PATH`: the libconfig VM as always, with Firecracker's API for its
# running phase: GET / says Running, PATCH /vm pauses and resumes the guest, GET /ember/devices
# lists the config's devices, pre-boot requests are refused, SendCtrlAltDel ends the VM.
DEVICES='{ plugin = "virtio-rng"; id = "rng"; }'
guest g 1 256 none <<'G'
echo 1 >/proc/sys/kernel/ctrl-alt-del
fact ready 1
G
API_SOCK=$PWD/run.sock
ember_start g run --api-sock "$API_SOCK" g.cfg
wait_socket "$API_SOCK"
wait_for g 'E2E_FACT ready=1' 120
api_expect 200 GET /
[ "$(api_json state)" = Running ] || fail "GET /: $(cat api.body)"
api_expect 204 PATCH /vm '{"state":"Paused"}'
api_expect 200 GET /
[ "$(api_json state)" = Paused ] || fail "GET / while paused: $(cat api.body)"
api_expect 204 PATCH /vm '{"state":"Resumed"}'
api_expect 200 GET /ember/devices
[ "$(api_json '[0].id')" = rng ] || fail "GET /ember/devices: $(cat api.body)"
api_expect 400 PUT /boot-source '{"kernel_image_path":"/x"}'
api_expect 204 PUT /actions '{"action_type":"SendCtrlAltDel"}'
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 60
expect_status 0
[ ! -e "$API_SOCK" ] || fail "the API socket is still there after ember ended"
