# shellcheck shell=sh
# `poweroff -f` in the guest ends ember with status 0.
guest g 1 256 poweroff <<'G'
echo E2E_POWERING_OFF
G
ember_run g run g.cfg
expect_status 0
tr -d '\r' <g.out | grep -q E2E_POWERING_OFF || fail "the guest never reached its script"
