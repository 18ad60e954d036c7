# shellcheck shell=sh
# The out-of-tree example plugin (examples/out-of-tree), built only against the installed SDK by
# the sdk_install test, loads into ember and works in a guest: its scratch register sits in the
# first device window (0xd0000000), reads back its `initial` option and keeps what the guest
# writes.
dir="$(dirname "$(dirname "$E2E_EMBER")")/sdk-install-check"
[ -f "$dir/acme-scratch.so" ] || fail "no $dir/acme-scratch.so: run the sdk_install test first (meson test)"
mkdir -p plugins
cp "$dir/acme-scratch.so" plugins/
DEVICES='{ plugin = "acme-scratch"; initial = 42; }'
PLUGIN_DIRS='"plugins"'
guest g 1 256 poweroff <<'G'
fact initial "$(devmem 0xd0000000 32)"
devmem 0xd0000000 32 0x12345678
fact written "$(devmem 0xd0000000 32)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g initial 0x0000002A
expect_fact g written 0x12345678
grep -q 'acme-scratch.0: scratch register starts at 42' g.err || fail "the plugin's log line is missing"
