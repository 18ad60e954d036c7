# shellcheck shell=sh
# e2e: alone (it measures time)
# The guest's write of 123 to MMIO 0xC0000000 makes ember log
# "ember: boot-timer: wall_ms=<float> cpu_ms=<float>".
GUEST_IMAGE=vmlinuz # the bzImage, as Debian ships it
guest g 1 256 poweroff <<'G'
fact uptime "$(cat /run/boot-uptime)"
G
ember_run g run g.cfg
expect_status 0
bt=$(boot_timer g)
[ -n "$bt" ] || fail "no 'ember: boot-timer:' line on stderr"
echo "$bt" | grep -qE '^wall_ms=[0-9]+(\.[0-9]+)? cpu_ms=[0-9]+(\.[0-9]+)?$' ||
	fail "malformed boot-timer line: $bt"
note "boot-timer $bt (ember run $SECS s)"
note "guest uptime (s) at /init: $(fact g uptime)"
