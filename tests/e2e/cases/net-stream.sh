# shellcheck shell=sh
# virtio-net on two taps in L1, checked by the guest's own virtio_net driver and
# tests/e2e/net-test.c at both ends (link-local addresses only; the taps live in L1). Card A has
# the offloads (the guest's features show checksum and TSO) and MTU 4000; card B has none and
# MTU 1400. On each: the MAC and MTU from the config are the guest's, ping works both ways, and
# 64 MiB go each way over TCP with every byte checked (a hash both ends compute).
# Then the guest floods small UDP frames on A for 6 s at an L1 socket that never reads them:
# ember's memory does not grow (VmRSS at 3 s and at the end), and its other devices are not
# stalled meanwhile (virtio-rng reads and pings on B take at most a few times what they took
# before the flood: nested, the guest's software CPU is slow in any case). Last, L1 deletes tap
# B under the running VM: ember logs it and takes B's link down (the guest sees its carrier go),
# card A still works, and the VM ends normally.
GUEST_BINS=$E2E_NET_TEST
nt=$E2E_NET_TEST
sfx=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
ta=ena$sfx tb=enb$sfx
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	[ -n "${hold:-}" ] && kill "$hold" 2>/dev/null
	"$nt" rmtap "$ta" 2>/dev/null
	"$nt" rmtap "$tb" 2>/dev/null
}
trap cleanup EXIT
"$nt" mktap "$ta" && "$nt" mktap "$tb" || fail "cannot make taps"
ip link set "$ta" mtu 4000 up && ip addr add 169.254.10.1/24 dev "$ta" &&
	ip link set "$tb" mtu 1400 up && ip addr add 169.254.11.1/24 dev "$tb" ||
	fail "cannot set up the taps"
srv=$("$nt" serve 5201 --log l1-serve.log --background) || fail "cannot start L1's server"
hold=$("$nt" hold-udp 5300 --log l1-hold.log --background) || fail "cannot start L1's UDP socket"
DEVICES="{ plugin = \"virtio-net\"; tap = \"$ta\"; mac = \"02:00:00:00:0a:02\"; mtu = 4000; },
  { plugin = \"virtio-net\"; tap = \"$tb\"; mac = \"02:00:00:00:0b:02\"; mtu = 1400; offloads = false; },
  { plugin = \"virtio-rng\"; }"
guest g 1 512 poweroff <<'G'
ifname() { for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && basename "$i"; done; }
a=$(ifname 02:00:00:00:0a:02)
b=$(ifname 02:00:00:00:0b:02)
fact ifaces "${a:-none} ${b:-none}"
fact mtu_a "$(cat /sys/class/net/$a/mtu)"
fact mtu_b "$(cat /sys/class/net/$b/mtu)"
ip link set "$a" up && ip addr add 169.254.10.2/24 dev "$a"
ip link set "$b" up && ip addr add 169.254.11.2/24 dev "$b"
offl='^(tx-checksum-ip-generic|tx-tcp-segmentation|tx-tcp6-segmentation|rx-checksum)$'
fact feat_a "$(net-test features "$a" | grep -E "$offl" | sort | tr '\n' ' ')"
fact feat_b "$(net-test features "$b" | grep -E "$offl" | sort | tr '\n' ' ')"
echo E2E_READY
ping -c 3 -W 5 169.254.10.1 >/tmp/pa 2>&1 && fact ping_a ok
ping -c 3 -W 5 169.254.11.1 >/tmp/pb 2>&1 && fact ping_b ok
for x in a:169.254.10.1 b:169.254.11.1; do
	n=${x%%:*} ip=${x#*:}
	fact "up_$n" "$(net-test client "$ip" 5201 --bytes 67108864 --timeout 100 2>&1 | tail -n 1)"
	fact "down_$n" "$(net-test client "$ip" 5201 --bytes 67108864 --recv --timeout 100 2>&1 | tail -n 1)"
done
probe() {
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/hwrng of=/dev/null bs=512 count=16 2>/dev/null && fact "rng_$1" ok
	ping -c 5 -i 0.2 -W 2 169.254.11.1 >/dev/null 2>&1 && fact "ping_$1" ok
	fact "$1" "$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
}
probe before
echo E2E_FLOOD
net-test flood 169.254.10.1 5300 --secs 6 --size 64 >/tmp/flood.log 2>&1 &
f=$!
sleep 2
probe during
wait $f
fact flood "$(tail -n 1 /tmp/flood.log)"
echo E2E_DEL
i=0
while [ "$(cat /sys/class/net/$b/carrier 2>/dev/null)" != 0 ] && [ $i -lt 100 ]; do
	ping -c 1 -W 1 169.254.11.1 >/dev/null 2>&1
	i=$((i + 1))
done
fact carrier_b "$(cat /sys/class/net/$b/carrier 2>/dev/null)"
ping -c 2 -W 5 169.254.10.1 >/dev/null 2>&1 && fact a_after ok
G
ember_start g run g.cfg
wait_for g '^E2E_READY' 150
ping -c 2 -W 5 169.254.10.2 >l1-ping-a.log 2>&1 && pa=ok
ping -c 2 -W 5 169.254.11.2 >l1-ping-b.log 2>&1 && pb=ok
wait_for g '^E2E_FLOOD' 200
sleep 3
rss1=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$EMBER_PID/status")
wait_for g '^E2E_FACT flood=' 60
rss2=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$EMBER_PID/status")
wait_for g '^E2E_DEL' 30
ip link delete "$tb" || fail "cannot delete tap B"
ember_wait
expect_status 0
for k in up_a down_a up_b down_b; do note "$k: $(fact g $k)"; done
note "features A: $(fact g feat_a); B: $(fact g feat_b)"
note "$(fact g flood); ember VmRSS $rss1 -> $rss2 kB; rng + 5 pings: $(fact g before) s before, $(fact g during) s during"
case $(fact g ifaces) in *none*) fail "guest interfaces by MAC: $(fact g ifaces)" ;; esac
expect_fact g mtu_a 4000
expect_fact g mtu_b 1400
expect_fact g ping_a ok
expect_fact g ping_b ok
[ "${pa:-}" = ok ] || fail "L1 -> guest ping on A: $(tail -n 2 l1-ping-a.log)"
[ "${pb:-}" = ok ] || fail "L1 -> guest ping on B: $(tail -n 2 l1-ping-b.log)"
expect_fact g feat_a "rx-checksum tx-checksum-ip-generic tx-tcp-segmentation tx-tcp6-segmentation "
case $(fact g feat_b) in *segmentation* | *tx-checksum*) fail "offloads on B: $(fact g feat_b)" ;; esac
for k in up_a down_a up_b down_b; do
	case $(fact g $k) in "NET-TEST ok conns=1 bytes=67108864 "*) ;; *) fail "$k: $(fact g $k)" ;; esac
done
grep -q BAD l1-serve.log && fail "L1's server saw wrong bytes: $(grep BAD l1-serve.log | head -n 2)"
# The flood.
case $(fact g flood) in "NET-FLOOD sent="*) ;; *) fail "the flood did not run: $(fact g flood)" ;; esac
sent=$(fact g flood | sed 's/NET-FLOOD sent=\([0-9]*\) .*/\1/')
# Nested, the guest's software CPU sends a few hundred a second; on hardware, hundreds of thousands.
[ "$sent" -ge 1000 ] || fail "only $sent datagrams sent: not a flood"
[ -n "$rss1" ] && [ -n "$rss2" ] || fail "could not read ember's VmRSS"
[ $((rss2 - rss1)) -le 4096 ] || fail "ember's VmRSS grew from $rss1 to $rss2 kB during the flood"
expect_fact g rng_during ok
expect_fact g ping_during ok
awk -v b="$(fact g before)" -v d="$(fact g during)" 'BEGIN { exit !(d <= 3 * b + 2) }' ||
	fail "rng and pings took $(fact g during) s during the flood, $(fact g before) s before"
# Tap B deleted.
expect_fact g carrier_b 0
expect_fact g a_after ok
grep -q "tap $tb: .*the link stays down" g.err || fail "ember did not log tap B going away"
true
