# shellcheck shell=sh
# vmclock (ACPI AMZNC10C): the stock guest kernel (Debian 6.12) has no ptp_vmclock driver, so this
# checks the device from below it: the ACPI node with its _CID, the page reserved in e820 and
# claimed in /proc/iomem, and the page itself read with busybox devmem: magic, version, size,
# counter_id X86_TSC, time_type UTC, a seq count that is even and moves between two reads a few
# refresh periods apart, a TSC rate in the page close to the guest's own, and time_sec close to
# both the guest's clock and L1's (the host of this VM).
DEVICES='{ plugin = "vmclock"; time_type = "utc"; refresh_ms = 200; }'
guest g 2 256 poweroff <<'G'
a=/sys/bus/acpi/devices/AMZNC10C:00
fact hid "$(cat $a/hid)"
fact cid "$(cat $a/modalias)"
# The page: the one range Linux gave the node (it registers the node's _CRS as a platform device).
r=$(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : AMZNC10C:00$/\1 \2/p' /proc/iomem)
fact iomem "$r"
base=0x${r%% *}
fact e820 "$(dmesg | grep -c "BIOS-e820: \[mem 0x0*${r%% *}-0x0*${r##* }\] reserved")"
fact magic "$(devmem $base 32)"
fact size "$(devmem $((base + 4)) 32)"
fact version "$(devmem $((base + 8)) 16)"
fact counter_id "$(devmem $((base + 10)) 8)"
fact time_type "$(devmem $((base + 11)) 8)"
s1=$(devmem $((base + 12)) 32)
t1=$(devmem $((base + 72)) 64)
d1=$(date +%s)
sleep 1
s2=$(devmem $((base + 12)) 32)
fact seq "$((s1)) $((s2))"
fact seq_even "$(( (s1 & 1) == 0 && (s2 & 1) == 0 ))"
fact seq_moves "$([ $((s2)) -gt $((s1)) ] && echo yes || echo "no: $s1 then $s2")"
fact time_sec "$((t1))"
fact guest_date "$d1"
fact status "$(devmem $((base + 34)) 8)"
fact shift "$(($(devmem $((base + 39)) 8)))"
fact period "$(($(devmem $((base + 52)) 32))) $(($(devmem $((base + 48)) 32)))"
fact tsc_khz "$(dmesg | sed -n 's/.*tsc: Detected \([0-9]*\)\.\([0-9]*\) MHz.*/\1\2/p' | head -n 1)"
G
before=$(date +%s)
ember_run g run g.cfg
after=$(date +%s)
expect_status 0
expect_fact g hid AMZNC10C
case $(fact g cid) in
*VMCLOCK*) ;;
*) fail "the node's modalias has no _CID VMCLOCK: $(fact g cid)" ;;
esac
[ -n "$(fact g iomem)" ] || fail "no AMZNC10C:00 range in the guest's /proc/iomem"
expect_fact g e820 1
expect_fact g magic 0x4B4C4356
expect_fact g size 0x00001000
expect_fact g version 0x0001
expect_fact g counter_id 0x01
expect_fact g time_type 0x00
expect_fact g seq_even 1
expect_fact g seq_moves yes
# 1 s at refresh_ms 200: about 5 refreshes, each +2 (nested timing is loose: at least 2).
set -- $(fact g seq)
[ $(($2 - $1)) -ge 4 ] || fail "the seq count moved by $(($2 - $1)) in 1 s at refresh_ms 200"
ts=$(fact g time_sec)
gd=$(fact g guest_date)
[ "$ts" -ge $((before - 2)) ] && [ "$ts" -le $((after + 2)) ] ||
	fail "the page's time_sec $ts is not within L1's run ($before..$after)"
d=$((ts - gd))
[ "${d#-}" -le 5 ] || fail "the page's time_sec $ts is $d s from the guest's date $gd"
# The page's period against the guest's TSC rate: hz = 2^(64 + shift) / period, from the kHz
# the guest's kernel measured (dmesg "tsc: Detected N.NNN MHz"), within 0.1 %.
khz=$(fact g tsc_khz)
pd=$(fact g period)
sh=$(fact g shift)
# (The period as two 32-bit halves: shells differ on 64-bit values above 2^63; busybox awk
# has no ^.)
hz=$(awk -v hi="${pd% *}" -v lo="${pd#* }" -v s="$sh" \
	'BEGIN { for (x = 1; n < 64 + s; n++) x *= 2; printf "%.0f", x / (hi * 4294967296 + lo) }')
[ -n "$khz" ] && awk -v a="$hz" -v b="$khz" 'BEGIN { d = a / (b * 1000) - 1; exit !(d < 0.001 && d > -0.001) }' ||
	fail "the page's TSC rate $hz Hz is not the guest's ${khz} kHz"
note "vmclock page at $(fact g iomem): seq $(fact g seq) over 1 s, time_sec $ts (guest date $gd, L1 $before..$after), status $(fact g status), tsc $hz Hz (guest ${khz} kHz)"
