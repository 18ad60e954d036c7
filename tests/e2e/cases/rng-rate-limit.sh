# shellcheck shell=sh
# e2e: alone (it measures time)
# virtio-rng's rate limit: at rate_bytes_per_sec = R a read of 4 R bytes takes about 4 s (the
# first burst, R/16, is free), and the same read without the limit is much quicker, so the check
# fails when the limit does nothing. Directly on KVM: R = 64 KiB/s, 256 KiB. Nested, each 512-byte
# request costs ~15 ms of exits, so 256 KiB takes ~9 s even unlimited and a 64 KiB/s limit would
# not bind: the nested run uses R = 4 KiB/s and 16 KiB, the same 4 s.
if [ "${E2E_MODE:-direct}" = nested ]; then rate=4096; else rate=65536; fi
count=$((rate * 4 / 4096))
for kind in limited unlimited; do
	if [ $kind = limited ]; then
		DEVICES="{ plugin = \"virtio-rng\"; rate_bytes_per_sec = $rate; }"
	else
		DEVICES='{ plugin = "virtio-rng"; }'
	fi
	guest $kind 1 256 poweroff <<G
t0=\$(cut -d' ' -f1 /proc/uptime)
n=\$(dd if=/dev/hwrng bs=4096 count=$count 2>/dev/null | wc -c)
t1=\$(cut -d' ' -f1 /proc/uptime)
fact bytes "\$n"
fact secs "\$(awk -v a="\$t0" -v b="\$t1" 'BEGIN { printf "%.2f", b - a }')"
G
	ember_run $kind run $kind.cfg
	expect_status 0
	expect_fact $kind bytes $((count * 4096))
done
limited=$(fact limited secs)
unlimited=$(fact unlimited secs)
note "$((count * 4)) KiB at $((rate / 1024)) KiB/s took $limited s in the guest; unlimited $unlimited s"
awk -v s="$limited" 'BEGIN { exit !(s >= 3.0 && s <= 8.0) }' ||
	fail "$((count * 4)) KiB at $((rate / 1024)) KiB/s took $limited s; expected about 4 s (3..8)"
awk -v s="$unlimited" 'BEGIN { exit !(s < 2.5) }' ||
	fail "without a limit the same read took $unlimited s: this check could not tell a limit"
