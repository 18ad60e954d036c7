# shellcheck shell=sh
# e2e: alone (it measures time)
# vmclock with Linux's own driver: the newer guest (tools/guest-image --newer, Debian's newer
# cloud kernel, which has ptp_vmclock) modprobes ptp_vmclock and ptp_kvm. Checks: the driver
# registered a PTP clock (dmesg), /sys/class/ptp/ptpN/clock_name is vmclock0, /dev/vmclock0
# exists and reads as the page (magic VCLK at offset 0, little-endian) with a seq count that moves
# between two reads; then the vmclock PHC against ptp_kvm's PHC (both read against the guest's
# CLOCK_REALTIME by phc-compare, tests/e2e/phc-compare.c) over 60 s: within 1 ms. Last, the
# guest's clock is set 5 s wrong and linuxptp's phc2sys steers it with the vmclock PHC
# (-O -TAIOFF: the page is TAI in 7.x and its TAI-offset flag is off; -S 1 steps); after 10 s
# the guest's CLOCK_REALTIME must be within 1 ms of ptp_kvm's PHC (L1's clock through KVM).
# About 80 s in the guest.
# One vCPU: nested, a 2-vCPU guest of this kernel may find its TSCs unsynchronized at boot and
# mark the TSC unstable, and ptp_vmclock then refuses every read (EINVAL).
# time_type follows the kernel: "utc" for 6.x (6.13-6.18 drivers), "tai" for 7.x, and then the
# host of this VM (L1 nested) must know TAI - UTC, or the page says UNRELIABLE: tai-offset sets
# it to 37 where it is unknown (0).
rel=$(guest_newer_release)
[ -n "$rel" ] || fail "no newer guest (E2E_GUEST_NEWER='${E2E_GUEST_NEWER:-}'): run tools/guest-image --newer"
case $rel in
6.*) tt=utc taioff=0 ;;
*)
	tt=tai taioff=37
	[ -x "${E2E_TAI_OFFSET:-}" ] || fail "no TAI offset helper (E2E_TAI_OFFSET='${E2E_TAI_OFFSET:-}')"
	t=$("$E2E_TAI_OFFSET" 37) || fail "cannot set the TAI offset: $t"
	taioff=${t#tai=}
	[ "$taioff" -gt 0 ] || fail "the kernel still does not know TAI - UTC ($t)"
	;;
esac
note "guest kernel $rel: time_type $tt (TAI - UTC here: $taioff)"
DEVICES="{ plugin = \"vmclock\"; time_type = \"$tt\"; refresh_ms = 200; }"
{
	echo "taioff=$taioff tt=$tt"
	cat <<'G'
fact uname "$(uname -r)"
modprobe ptp_kvm 2>&1 | head -n 3
fact modprobe_kvm "$(lsmod | grep -c '^ptp_kvm')"
modprobe ptp_vmclock 2>&1 | head -n 3
fact modprobe_vmclock "$(lsmod | grep -c '^ptp_vmclock')"
sleep 0.5
fact dmesg "$(dmesg | grep -iE 'vmclock|ptp' | sed 's/^\[[ 0-9.]*\] //' | tr '\n' '|')"
vm='' kvm=''
for p in /sys/class/ptp/ptp*; do
	[ -e "$p/clock_name" ] || continue
	n=$(cat "$p/clock_name")
	fact "clock_name_${p##*/}" "$n"
	case $n in
	vmclock0) vm=/dev/${p##*/} ;;
	KVM*) kvm=/dev/${p##*/} ;;
	esac
done
fact vm_phc "$vm"
fact clocksource "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
fact tsc_dmesg "$(dmesg | grep -iE 'tsc|clocksource' | sed 's/^\[[ 0-9.]*\] //' | tr '\n' '|')"
fact kvm_phc "$kvm"
fact vmclock_dev "$([ -c /dev/vmclock0 ] && echo yes || echo no)"
dd if=/dev/vmclock0 of=/tmp/p1 bs=4096 count=1 2>/dev/null
fact read_bytes "$(wc -c </tmp/p1)"
fact magic_bytes "$(od -An -tx1 -N4 /tmp/p1 | tr -d ' \n')"
fact time_type "$(od -An -tu1 -j11 -N1 /tmp/p1 | tr -d ' \n')"
fact status "$(od -An -tu1 -j34 -N1 /tmp/p1 | tr -d ' \n')"
s1=$(od -An -tu4 -j12 -N4 /tmp/p1 | tr -d ' \n')
sleep 1
dd if=/dev/vmclock0 of=/tmp/p2 bs=4096 count=1 2>/dev/null
s2=$(od -An -tu4 -j12 -N4 /tmp/p2 | tr -d ' \n')
fact seq "$s1 $s2"
if [ -n "$vm" ] && [ -n "$kvm" ]; then
	phc-compare "$vm" "$kvm" 60 "$taioff" >/tmp/phc.log 2>&1
	fact phc_rc $?
	sed -n '1p;31p;$p' /tmp/phc.log
	fact phc "$(grep '^PHC-COMPARE ' /tmp/phc.log)"
	# phc2sys: the guest's clock 5 s ahead, then steered with the vmclock PHC.
	phc-compare sys "$kvm" 1 >/tmp/sys0.log 2>&1
	fact sys0 "$(grep '^PHC-COMPARE ' /tmp/sys0.log)"
	date -s "@$(($(date +%s) + 5))" >/dev/null
	phc-compare sys "$kvm" 1 >/tmp/pre.log 2>&1
	fact pre "$(grep '^PHC-COMPARE ' /tmp/pre.log)"
	phc2sys -s "$vm" -c CLOCK_REALTIME -O "-$taioff" -S 1 -R 4 -m -q >/tmp/phc2sys.log 2>&1 &
	p2s=$!
	sleep 10
	fact phc2sys_alive "$(kill -0 $p2s 2>/dev/null && echo yes || echo no)"
	phc-compare sys "$kvm" 5 >/tmp/post.log 2>&1
	fact post_rc $?
	fact post "$(grep '^PHC-COMPARE ' /tmp/post.log)"
	kill $p2s 2>/dev/null
	wait $p2s 2>/dev/null
	fact phc2sys_log "$({ head -n 4 /tmp/phc2sys.log; echo ...; tail -n 2 /tmp/phc2sys.log; } | tr '\n' '|')"
	fact phc2sys_s2 "$(grep -c ' s2 ' /tmp/phc2sys.log)"
fi
G
} | guest_newer g 1 256 poweroff
# ~80 s in the guest: more than direct mode's default limit.
ember_start g run g.cfg
ember_wait $((E2E_TIMEOUT > 200 ? E2E_TIMEOUT : 200))
expect_status 0
expect_fact g uname "$rel"
expect_fact g modprobe_kvm 1
expect_fact g modprobe_vmclock 1
d=$(fact g dmesg)
case $d in
*vmclock0*PTP* | *vmclock*registered*) ;;
*) fail "no line from ptp_vmclock registering its PTP clock in dmesg: $d" ;;
esac
[ -n "$(fact g vm_phc)" ] || fail "no /sys/class/ptp/ptpN with clock_name vmclock0 (dmesg: $d)"
[ -n "$(fact g kvm_phc)" ] || fail "no ptp_kvm PHC (clock_name KVM virtual PTP)"
expect_fact g vmclock_dev yes
# "VCLK" = 0x4B4C4356 little-endian at offset 0.
expect_fact g magic_bytes 56434c4b
expect_fact g time_type "$([ "$tt" = tai ] && echo 1 || echo 0)"
set -- $(fact g seq)
[ $# = 2 ] && [ "$2" -gt "$1" ] || fail "the page's seq count did not move between two reads 1 s apart: $(fact g seq)"
[ $(($1 % 2)) = 0 ] && [ $(($2 % 2)) = 0 ] || fail "odd seq count in a read of /dev/vmclock0: $(fact g seq)"
case $(fact g tsc_dmesg) in
*'Marking TSC unstable'*) fail "the guest marked its TSC unstable, so ptp_vmclock refuses reads: $(fact g tsc_dmesg)" ;;
esac
expect_fact g phc_rc 0
phc=$(fact g phc)
v() { echo "$phc" | sed -n "s/.* $1=\([0-9-]*\).*/\1/p"; }
ma=$(v maxabs_ns)
[ -n "$ma" ] || fail "phc-compare gave no summary: $phc"
note "dmesg: $d"
note "$(fact g vm_phc) is vmclock0, $(fact g kvm_phc) is ptp_kvm; page seq $(fact g seq) over 1 s, clock_status $(fact g status)"
note "vmclock PHC - ptp_kvm PHC (- $taioff s) over 60 s: $phc"
[ "$ma" -lt 1000000 ] || fail "the vmclock PHC is up to $ma ns from ptp_kvm's (limit 1 ms): $phc"
# phc2sys: the clock was moved ~5 s ahead (date -s drops the fraction: 4 to 5 s; at boot it is
# already up to ~1.5 s off, from the RTC's whole seconds), within 1 ms of ptp_kvm's PHC after.
sys0=$(fact g sys0) pre=$(fact g pre)
p50() { echo "$1" | sed -n 's/.* p50_ns=\([0-9-]*\).*/\1/p'; }
s0=$(p50 "$sys0") pv=$(p50 "$pre")
[ -n "$s0" ] && [ -n "$pv" ] && [ $((pv - s0)) -gt 3900000000 ] && [ $((pv - s0)) -lt 5100000000 ] ||
	fail "setting the guest's clock 5 s ahead did not show in phc-compare (sys - ptp_kvm): before $sys0, after $pre"
expect_fact g phc2sys_alive yes
expect_fact g post_rc 0
post=$(fact g post)
note "phc2sys: $(fact g phc2sys_log)"
note "guest CLOCK_REALTIME - ptp_kvm PHC: at boot $sys0; 5 s ahead $pre; after 10 s of phc2sys $post"
[ "$(fact g phc2sys_s2)" -gt 0 ] || fail "phc2sys never reached its locked state (s2): $(fact g phc2sys_log)"
phc=$post
pa=$(v maxabs_ns)
[ -n "$pa" ] || fail "phc-compare sys gave no summary: $post"
[ "$pa" -lt 1000000 ] || fail "after phc2sys the guest's clock is up to $pa ns from ptp_kvm's PHC (limit 1 ms): $post"
