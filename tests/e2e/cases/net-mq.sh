# shellcheck shell=sh
# virtio-net with two queue pairs on a multiqueue tap in L1 (IFF_MULTI_QUEUE, one tap queue per
# pair) and a 2-vCPU guest, whose virtio_net driver turns both pairs on (VQ_PAIRS_SET on the
# control queue). 64 concurrent TCP connections each way all complete with every byte checked,
# and ember's per-queue totals (logged at the end) show both pairs carried frames each way.
GUEST_BINS=$E2E_NET_TEST
nt=$E2E_NET_TEST
tap=enm$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	"$nt" rmtap "$tap" --queues 2 2>/dev/null
}
trap cleanup EXIT
"$nt" mktap "$tap" --queues 2 || fail "cannot make a multiqueue tap"
ip link set "$tap" up && ip addr add 169.254.20.1/24 dev "$tap" || fail "cannot set up the tap"
srv=$("$nt" serve 5202 --log l1-serve.log --background) || fail "cannot start L1's server"
DEVICES="{ plugin = \"virtio-net\"; tap = \"$tap\"; num_queues = 2; mac = \"02:00:00:00:14:02\"; }"
guest g 2 512 poweroff <<'G'
ip link set eth0 up && ip addr add 169.254.20.2/24 dev eth0
ping -c 2 -W 5 169.254.20.1 >/dev/null 2>&1
fact up "$(net-test client 169.254.20.1 5202 --bytes 65536 --conns 64 --timeout 150 2>&1 | tail -n 1)"
fact down "$(net-test client 169.254.20.1 5202 --bytes 65536 --conns 64 --recv --timeout 150 2>&1 | tail -n 1)"
fact combined "$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
G
ember_run g run g.cfg
expect_status 0
note "guest->L1: $(fact g up)"
note "L1->guest: $(fact g down)"
# "queue pair N: rx F frames B bytes, tx F frames B bytes" (ember's log at the end)
qp() { sed -n "s/.*virtio-net.0: queue pair $1: rx \([0-9]*\) frames [0-9]* bytes, tx \([0-9]*\) frames.*/\1 \2/p" g.err; }
note "frames per queue pair (rx tx): 0: $(qp 0), 1: $(qp 1)"
case $(fact g up) in "NET-TEST ok conns=64 "*) ;; *) fail "guest -> L1, 64 connections: $(fact g up)" ;; esac
case $(fact g down) in "NET-TEST ok conns=64 "*) ;; *) fail "L1 -> guest, 64 connections: $(fact g down)" ;; esac
expect_fact g combined 2
for q in 0 1; do
	# shellcheck disable=SC2046 # two numbers on purpose
	set -- $(qp $q)
	[ $# = 2 ] || fail "no totals for queue pair $q in ember's log"
	[ "$1" -ge 20 ] && [ "$2" -ge 20 ] || fail "queue pair $q carried $1 frames in, $2 out"
done
grep -q BAD l1-serve.log && fail "L1's server saw wrong bytes"
true
