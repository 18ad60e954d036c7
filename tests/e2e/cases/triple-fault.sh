# shellcheck shell=sh
# A guest that triple-faults (reboot=t: Linux reboots by loading an empty IDT and faulting) ends
# ember with status 4 and a message, not with a clean exit.
guest g 1 256 reboot 'reboot=t' <<'G'
echo E2E_BEFORE_REBOOT
G
ember_run g run g.cfg
expect_status 4
grep -q 'E2E_BEFORE_REBOOT' g.out || fail "the guest did not reach its script"
grep -q 'triple fault' g.err || fail "ember did not say the guest triple-faulted: $(cat g.err)"
