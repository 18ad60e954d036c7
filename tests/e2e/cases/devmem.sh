# shellcheck shell=sh
# Device memory and clock pairs (ABI 1.2), with the tp-devmem test plugin: a device without
# registers whose ACPI node (EMBR0001) lists only one page of device memory, read-only for the
# guest, that the plugin fills with "EMBERDEV", a counter its timer bumps, "EMBERDEV".
# From inside the guest: the page is reserved in e820, the node's _CRS is exactly that one
# Memory32Fixed (ReadOnly) as Linux's ptp_vmclock wants, Linux claims it for EMBR0001:00, the
# pattern reads back, the counter moves, a guest write changes nothing. From ember's log: the
# plugin's clock_pair (KVM_GET_CLOCK with the host TSC, here on L1's KVM) worked.
dir=$(test_plugins_dir)
[ -f "$dir/tp-devmem.so" ] || fail "no test plugin $dir/tp-devmem.so (build the unit tests)"
mkdir -p plugins
cp "$dir/tp-devmem.so" plugins/
DEVICES='{ plugin = "tp-devmem"; }'
PLUGIN_DIRS='"plugins"'
guest g 2 256 poweroff <<'G'
a=/sys/bus/acpi/devices/EMBR0001:00
fact hid "$(cat $a/hid)"
fact path "$(cat $a/path)"
fact uid "$(cat $a/uid)"
fact physical_node "$(basename "$(readlink $a/physical_node)")"
fact e820 "$(dmesg | grep -c 'BIOS-e820: \[mem 0x00000000e0000000-0x00000000e0000fff\] reserved')"
fact iomem "$(grep -c '^ *e0000000-e0000fff : EMBR0001:00$' /proc/iomem)"
fact iomem_claims "$(grep -c ': EMBR0001:00$' /proc/iomem)"
# _CRS = Buffer (14 bytes) { Memory32Fixed (ReadOnly, 0xE0000000, 0x1000), End Tag }: nothing
# else (the bytes as ember writes them, in the table the guest got).
crs=5f43525311110a0e86090000000000e00010000079
fact crs "$(od -An -tx1 -v /sys/firmware/acpi/tables/DSDT | tr -d ' \n' | grep -c "$crs")"
fact magic "$(devmem 0xe0000000 32) $(devmem 0xe0000004 32) $(devmem 0xe0000010 32) $(devmem 0xe0000014 32)"
c1=$(devmem 0xe0000008 32)
sleep 1
c2=$(devmem 0xe0000008 32)
fact counter_moves "$([ $((c2)) -gt $((c1)) ] && echo yes || echo "no: $c1 then $c2")"
devmem 0xe0000000 32 0x12345678
devmem 0xe0000008 32 0
fact after_write "$(devmem 0xe0000000 32)"
c3=$(devmem 0xe0000008 32)
fact counter_kept "$([ $((c3)) -ge $((c2)) ] && echo yes || echo "no: $c2 then $c3")"
fact tsc_mhz "$(dmesg | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | head -n 1)"
G
ember_run g run g.cfg
expect_status 0
expect_fact g hid EMBR0001
expect_fact g path '\_SB_.D000'
expect_fact g uid 0
expect_fact g physical_node EMBR0001:00
expect_fact g e820 1
expect_fact g crs 1
expect_fact g iomem 1
expect_fact g iomem_claims 1
# "EMBERDEV" as two little-endian 32-bit words, twice.
expect_fact g magic '0x45424D45 0x56454452 0x45424D45 0x56454452'
expect_fact g counter_moves yes
expect_fact g after_write 0x45424D45
expect_fact g counter_kept yes
grep -q 'tp-devmem.0: device memory at 0xe0000000$' g.err || fail "the plugin did not log its device memory"

pair=$(sed -n 's/^ember: tp-devmem\.0: clock_pair: //p' g.err | tail -n 1)
[ -n "$pair" ] || fail "no clock_pair line from the plugin in ember's log"
case $pair in
ok\ *) ;;
*) fail "clock_pair: $pair" ;;
esac
val() { echo "$pair" | sed -n "s/.* $1=\([0-9-]*\).*/\1/p"; }
hz=$(val tsc_hz)
[ "${hz:-0}" -gt 0 ] || fail "clock_pair gave no TSC frequency: $pair"
[ "$(val flags)" = 1 ] || fail "clock_pair is not marked precise: $pair"
[ "$(val sec)" -gt 1600000000 ] || fail "clock_pair's realtime is not a plausible date: $pair"
[ "$(val guest_tsc)" != 0 ] || fail "clock_pair gave a zero guest TSC: $pair"
note "clock_pair $pair; the guest says its TSC runs at $(fact g tsc_mhz) MHz"
