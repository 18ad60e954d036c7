# shellcheck shell=sh
# The vendor example examples/virtio-console (acme-console), built only against the installed
# SDK, works with the guest's stock virtio_console driver (built into Debian's cloud kernel): the
# driver binds, /dev/hvc0 appears, what the guest writes to /dev/hvc0 is appended to the output
# file on ember's side, and the device answers that first write with the configured greeting.
dir="$(dirname "$(dirname "$E2E_EMBER")")/sdk-install-check"
[ -f "$dir/acme-console.so" ] ||
	fail "no $dir/acme-console.so: build examples/virtio-console against the installed SDK first (make -C examples/virtio-console OUT=$dir)"
mkdir -p plugins
cp "$dir/acme-console.so" plugins/
echo "from an earlier run" >console.out # the device appends, never truncates
DEVICES='{ plugin = "acme-console"; output = "console.out"; greeting = "welcome-from-acme\n"; }'
PLUGIN_DIRS='"plugins"'
# One open holds the tty for the whole exchange, so that raw mode without echo stays set (an
# echo of the greeting would go back to the output file) and the greeting, which answers the
# first write, reaches an open tty instead of one being closed.
guest g 1 256 poweroff <<'G'
fact bound "$(ls /sys/bus/virtio/drivers/virtio_console 2>/dev/null | grep -c '^virtio')"
fact hvc0 "$([ -c /dev/hvc0 ] && echo yes || echo no)"
exec 3<>/dev/hvc0
stty -F /dev/hvc0 raw -echo
echo hello-from-guest >/dev/hvc0
line=''
read -r -t 20 line <&3
fact greeting "$line"
exec 3>&-
G
ember_run g run g.cfg
expect_status 0
expect_fact g bound 1
expect_fact g hvc0 yes
expect_fact g greeting welcome-from-acme
# Appended to what was there, byte for byte (raw mode: no CR added, the greeting not echoed).
[ "$(tr '\n' '|' <console.out)" = "from an earlier run|hello-from-guest|" ] ||
	fail "console.out is '$(tr '\r\n' '^|' <console.out)', expected 'from an earlier run|hello-from-guest|'"
grep -q 'acme-console.0: guest output goes to .*console.out; greeting of 18 bytes' g.err ||
	fail "the plugin's create line is missing: $(grep acme-console g.err)"
! grep -q 'needs reset' g.err || fail "the device asked for a reset: $(grep 'needs reset' g.err)"
