# shellcheck shell=sh
# The guest reaches its test script with 2 vCPUs and sees both online.
GUEST_IMAGE=vmlinuz # the bzImage, as Debian ships it
guest g 2 256 poweroff <<'G'
fact online "$(cat /sys/devices/system/cpu/online)"
fact nproc "$(nproc)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g online 0-1
expect_fact g nproc 2
note_boot_timer g
