# shellcheck shell=sh
# What the guest writes on its console (COM1) arrives on ember's stdout, and only there;
# ember's own stderr lines all start with "ember: ".
marker=E2E_MARKER_$$_$(date +%s)
guest g 1 256 poweroff <<G
echo "$marker"
G
ember_run g run g.cfg
expect_status 0
tr -d '\r' <g.out | grep -qx "$marker" || fail "marker $marker missing from ember's stdout"
! grep -q "$marker" g.err || fail "marker $marker leaked onto ember's stderr"
bad=$(grep -cv '^ember: ' g.err)
[ "$bad" = 0 ] || fail "$bad stderr line(s) without the 'ember: ' prefix"
