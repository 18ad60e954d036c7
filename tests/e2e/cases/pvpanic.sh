# shellcheck shell=sh
# pvpanic: the guest's pvpanic-mmio driver binds through ACPI (QEMU0001); a guest panic ends
# ember with status 3 and a message.
DEVICES='{ plugin = "pvpanic"; }'
guest g 1 256 poweroff <<'G'
fact driver "$(ls /sys/bus/platform/drivers/pvpanic-mmio 2>/dev/null | grep -c QEMU0001)"
echo c >/proc/sysrq-trigger
G
ember_run g run g.cfg
expect_status 3
expect_fact g driver 1
grep -q 'panic' g.err || fail "ember said nothing about the guest's panic"
note "$(grep panic g.err | head -n 1)"
