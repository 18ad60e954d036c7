# shellcheck shell=sh
# Two instances of one plugin in one VM: the guest sees both entropy sources.
DEVICES='{ plugin = "virtio-rng"; }, { plugin = "virtio-rng"; request_max_bytes = 4096; }'
guest g 1 256 poweroff <<'G'
fact available "$(cat /sys/class/misc/hw_random/rng_available)"
fact virtio "$(ls /sys/bus/virtio/devices | wc -l)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g virtio 2
case $(fact g available) in
*virtio_rng.0*virtio_rng.1* | *virtio_rng.1*virtio_rng.0*) ;;
*) fail "rng_available is '$(fact g available)', expected virtio_rng.0 and virtio_rng.1" ;;
esac
