# shellcheck shell=sh
# ember's own API: PUT /ember/devices/{id} attaches any plugin with its options, a vendor
# plugin (the out-of-tree example, built against the installed SDK only) included, checked
# exactly like a config group; GET /ember/devices lists the devices with their counters.
# Refusals: a plugin that is not there (at the PUT), an option the plugin does not have (at
# InstanceStart, which names it and starts nothing); the same VM then starts once fixed.
dir="$(dirname "$(dirname "$E2E_EMBER")")/sdk-install-check"
[ -f "$dir/acme-scratch.so" ] || fail "no $dir/acme-scratch.so: run the sdk_install test first (meson test)"
mkdir -p plugins
cp "$dir/acme-scratch.so" plugins/
api_guest g <<'G'
fact initial "$(devmem 0xd0000000 32)"
fact rng_bytes "$(head -c 4096 /dev/hwrng | wc -c)"
fact ready 1
G
API_SOCK=$PWD/fc.sock
ember_start g firecracker --api-sock "$API_SOCK" --plugin-dir "$PWD/plugins"
wait_socket "$API_SOCK"
api_expect 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST_KERNEL\",\"boot_args\":\"$GUEST_ARGS\",\"initrd_path\":\"$PWD/g.initrd\"}"
api_expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
api_expect 400 PUT /ember/devices/x '{"plugin":"no-such-plugin"}'
case $(api_json fault_message) in
*no-such-plugin*) ;;
*) fail "a missing plugin: $(cat api.body)" ;;
esac
api_expect 204 PUT /ember/devices/scratch '{"plugin":"acme-scratch","options":{"initial":42}}'
api_expect 204 PUT /ember/devices/rng '{"plugin":"virtio-rng","options":{"no_such_option":1}}'
api_expect 400 PUT /actions '{"action_type":"InstanceStart"}'
case $(api_json fault_message) in
*no_such_option*) ;;
*) fail "InstanceStart with a bad option: $(cat api.body)" ;;
esac
api_expect 200 GET /
[ "$(api_json state)" = "Not started" ] || fail "the VM started half-way: $(cat api.body)"
api_expect 204 PUT /ember/devices/rng '{"plugin":"virtio-rng","options":{"request_max_bytes":4096}}'
api_expect 200 GET /ember/devices
[ "$(api_json '[0].plugin')" = acme-scratch ] || fail "GET /ember/devices before boot: $(cat api.body)"
api_expect 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for g 'E2E_FACT ready=1' 120
expect_fact g initial 0x0000002A
expect_fact g rng_bytes 4096
api_expect 200 GET /ember/devices
[ "$(api_json '[1].id')" = rng ] || fail "GET /ember/devices: $(cat api.body)"
bytes=$(api_json '[1].metrics.bytes') || fail "no rng byte counter: $(cat api.body)"
[ "$bytes" -ge 4096 ] 2>/dev/null || fail "the rng counter says $bytes bytes, the guest read 4096"
note "GET /ember/devices: $(cut -c1-200 api.body)"
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 15
expect_status 0
