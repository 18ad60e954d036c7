# shellcheck shell=sh
# The guest reaches its test script with 1 vCPU, sees it online, and powers off (status 0).
GUEST_IMAGE=vmlinuz # the bzImage, as Debian ships it
guest g 1 256 poweroff <<'G'
fact online "$(cat /sys/devices/system/cpu/online)"
fact nproc "$(nproc)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g online 0
expect_fact g nproc 1
note_boot_timer g
