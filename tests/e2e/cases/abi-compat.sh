# shellcheck shell=sh
# A plugin built against the frozen ABI 1.0 headers (tests/unit/plugins/abi10_counter.c) works in
# a real guest on today's ember: the guest's stock virtio_rng driver binds it (entropy device,
# id 4) and /dev/hwrng returns its counter pattern, served from the event loop's timers
# (delay_ms), with its string option reaching the plugin.
dir=$(test_plugins_dir)
[ -f "$dir/abi10-counter.so" ] || fail "no test plugin $dir/abi10-counter.so (build the unit tests)"
mkdir -p plugins
cp "$dir/abi10-counter.so" plugins/
DEVICES='{ plugin = "abi10-counter"; seed = 17; label = "e2e-abi10"; delay_ms = 1; }'
PLUGIN_DIRS='"plugins"'
# The stream the device gives is a counter across all its buffers. The kernel's own hwrng
# reader (entropy pool feeding) may take bytes between two of our reads, but each 64-byte piece
# of a read comes from one locked hwrng read: inside every piece, each byte is the previous + 1.
guest g 1 256 poweroff <<'G'
fact current "$(cat /sys/class/misc/hw_random/rng_current)"
dd if=/dev/hwrng bs=4096 count=1 2>/dev/null >/tmp/rng
fact bytes "$(wc -c </tmp/rng)"
fact breaks "$(od -An -v -tu1 </tmp/rng | awk '
	{ for (i = 1; i <= NF; i++) { if (n % 64 && $i != (prev + 1) % 256) bad++; prev = $i; n++ } }
	END { print bad + 0 }')"
fact distinct "$(od -An -v -tx1 </tmp/rng | tr ' ' '\n' | grep . | sort -u | wc -l)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g current virtio_rng.0
expect_fact g bytes 4096
# Random data would break the counter at nearly every byte; the device's pattern never does.
expect_fact g breaks 0
# 4096 bytes of a counter cover every byte value (a device returning zeros gives 1).
expect_fact g distinct 256
grep -q 'abi10-counter.0: label e2e-abi10, seed 17, host ABI 1\.' g.err ||
	fail "the plugin's create line (options, host table) is missing: $(grep abi10 g.err)"
note "$(grep -o 'host table.*' g.err | head -n 1)"
