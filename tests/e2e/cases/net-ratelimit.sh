# shellcheck shell=sh
# e2e: extended (a timed transfer that runs alone: tests/e2e/run --extended, or name it)
# e2e: alone
# virtio-net transmit rate limit: with tx_bandwidth_size = 1 MiB per 1000 ms a 4 MiB transfer
# from the guest takes about (4 MiB - the 1 MiB bucket) / 1 MiB/s = 3 s; the same transfer on a
# second card without the limit (the same guest, the same moment) is much faster. The upper
# bound is loose on purpose: frames wait in the ring behind the limit, so the guest's TCP sees
# its round trip grow from milliseconds to about a second at once, and nested (a slow software
# CPU) that now and then makes it retransmit, which costs tokens too. Taking a
# limit away at run time is the set_rate_limit control's job (tests/unit/test_plugin_net.c);
# the control plane that calls it is not there yet.
GUEST_BINS=$E2E_NET_TEST
nt=$E2E_NET_TEST
sfx=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
ta=enr$sfx tb=enu$sfx
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	"$nt" rmtap "$ta" 2>/dev/null
	"$nt" rmtap "$tb" 2>/dev/null
}
trap cleanup EXIT
"$nt" mktap "$ta" && "$nt" mktap "$tb" || fail "cannot make taps"
ip link set "$ta" up && ip addr add 169.254.30.1/24 dev "$ta" &&
	ip link set "$tb" up && ip addr add 169.254.31.1/24 dev "$tb" || fail "cannot set up the taps"
srv=$("$nt" serve 5203 --log l1-serve.log --background) || fail "cannot start L1's server"
DEVICES="{ plugin = \"virtio-net\"; tap = \"$ta\"; mac = \"02:00:00:00:1e:02\"; tx_bandwidth_size = \"1M\"; tx_bandwidth_refill_ms = 1000; },
  { plugin = \"virtio-net\"; tap = \"$tb\"; mac = \"02:00:00:00:1f:02\"; }"
guest g 1 256 poweroff <<'G'
ifname() { for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && basename "$i"; done; }
a=$(ifname 02:00:00:00:1e:02) b=$(ifname 02:00:00:00:1f:02)
ip link set "$a" up && ip addr add 169.254.30.2/24 dev "$a"
ip link set "$b" up && ip addr add 169.254.31.2/24 dev "$b"
ping -c 2 -W 5 169.254.30.1 >/dev/null 2>&1
ping -c 2 -W 5 169.254.31.1 >/dev/null 2>&1
fact limited "$(net-test client 169.254.30.1 5203 --bytes 4194304 --timeout 60 2>&1 | tail -n 1)"
fact free "$(net-test client 169.254.31.1 5203 --bytes 4194304 --timeout 60 2>&1 | tail -n 1)"
G
ember_run g run g.cfg
expect_status 0
note "limited: $(fact g limited)"
note "unlimited: $(fact g free)"
for k in limited free; do
	case $(fact g $k) in "NET-TEST ok conns=1 bytes=4194304 "*) ;; *) fail "$k: $(fact g $k)" ;; esac
done
secs() { fact g "$1" | sed 's/.* secs=\([0-9.]*\) .*/\1/'; }
ls=$(secs limited) fs=$(secs free)
awk -v s="$ls" 'BEGIN { exit !(s >= 2.4 && s <= 6.5) }' ||
	fail "4 MiB at 1 MiB/s with a 1 MiB bucket took $ls s, expected about 3 s"
awk -v l="$ls" -v f="$fs" 'BEGIN { exit !(f < l / 2) }' ||
	fail "without the limit the transfer took $fs s (limited: $ls s)"
true
