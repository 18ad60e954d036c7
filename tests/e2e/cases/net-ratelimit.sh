# shellcheck shell=sh
# e2e: alone
# virtio-net transmit rate limit: with tx_bandwidth_size = 256 KiB per 1000 ms a 2 MiB transfer
# from the guest takes about (2 MiB - the 256 KiB bucket) / 256 KiB/s = 7 s; the same transfer on
# a second card without the limit (the same guest, the same moment) is much faster. Then the limit
# is taken away at run time, as an orchestrator does (`ember run --api-sock`, PATCH
# /network-interfaces/lim with an empty tx_rate_limiter: the card's id is net-lim), and the
# limited card's next 2 MiB go as fast as the other card's. The upper bound is loose on purpose:
# frames wait in the ring behind the limit, so the guest's TCP sees its round trip grow from
# milliseconds to about a second at once, and nested (a slow software CPU) that now and then
# makes it retransmit, which costs tokens too.
GUEST_BINS=$E2E_NET_TEST
nt=$E2E_NET_TEST
sfx=$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
ta=enr$sfx tb=enu$sfx
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	[ -n "${srv2:-}" ] && kill "$srv2" 2>/dev/null
	"$nt" rmtap "$ta" 2>/dev/null
	"$nt" rmtap "$tb" 2>/dev/null
}
trap cleanup EXIT
"$nt" mktap "$ta" && "$nt" mktap "$tb" || fail "cannot make taps"
ip link set "$ta" up && ip addr add 169.254.30.1/24 dev "$ta" &&
	ip link set "$tb" up && ip addr add 169.254.31.1/24 dev "$tb" || fail "cannot set up the taps"
srv=$("$nt" serve 5203 --log l1-serve.log --background) || fail "cannot start L1's server"
DEVICES="{ plugin = \"virtio-net\"; id = \"net-lim\"; tap = \"$ta\"; mac = \"02:00:00:00:1e:02\"; tx_bandwidth_size = \"256K\"; tx_bandwidth_refill_ms = 1000; },
  { plugin = \"virtio-net\"; tap = \"$tb\"; mac = \"02:00:00:00:1f:02\"; }"
guest g 1 256 poweroff <<'G'
ifname() { for i in /sys/class/net/*; do [ "$(cat "$i/address")" = "$1" ] && basename "$i"; done; }
a=$(ifname 02:00:00:00:1e:02) b=$(ifname 02:00:00:00:1f:02)
ip link set "$a" up && ip addr add 169.254.30.2/24 dev "$a"
ip link set "$b" up && ip addr add 169.254.31.2/24 dev "$b"
ping -c 2 -W 5 169.254.30.1 >/dev/null 2>&1
ping -c 2 -W 5 169.254.31.1 >/dev/null 2>&1
fact limited "$(net-test client 169.254.30.1 5203 --bytes 2097152 --timeout 60 2>&1 | tail -n 1)"
fact free "$(net-test client 169.254.31.1 5203 --bytes 2097152 --timeout 60 2>&1 | tail -n 1)"
# L1 opens port 5204 once it has taken the limit away.
i=0
until r=$(net-test client 169.254.30.1 5204 --bytes 2097152 --timeout 60 2>&1 | tail -n 1) &&
	[ "${r#NET-TEST ok}" != "$r" ] || [ $i -ge 60 ]; do
	sleep 1
	i=$((i + 1))
done
fact lifted "$r"
G
API_SOCK=$PWD/run.sock
ember_start g run --api-sock "$API_SOCK" g.cfg
wait_socket "$API_SOCK"
wait_for g '^E2E_FACT free=' 180
api_expect 204 PATCH /network-interfaces/lim '{"iface_id":"lim","tx_rate_limiter":{}}'
srv2=$("$nt" serve 5204 --log l1-serve2.log --background) || fail "cannot start L1's second server"
ember_wait
expect_status 0
note "limited: $(fact g limited)"
note "unlimited: $(fact g free)"
note "limit taken away (PATCH /network-interfaces/lim): $(fact g lifted)"
for k in limited free lifted; do
	case $(fact g $k) in "NET-TEST ok conns=1 bytes=2097152 "*) ;; *) fail "$k: $(fact g $k)" ;; esac
done
secs() { fact g "$1" | sed 's/.* secs=\([0-9.]*\) .*/\1/'; }
ls=$(secs limited) fs=$(secs free) us=$(secs lifted)
awk -v s="$ls" 'BEGIN { exit !(s >= 5.6 && s <= 14) }' ||
	fail "2 MiB at 256 KiB/s with a 256 KiB bucket took $ls s, expected about 7 s"
awk -v l="$ls" -v f="$fs" 'BEGIN { exit !(f < l / 2) }' ||
	fail "without the limit the transfer took $fs s (limited: $ls s)"
awk -v l="$ls" -v u="$us" 'BEGIN { exit !(u < l / 2) }' ||
	fail "after the limit was taken away the transfer took $us s (limited: $ls s)"
true
