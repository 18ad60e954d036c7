# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# tools/bench-helpers/bench-balloon-guest.sh: the guest's /test.sh for `tools/bench --balloon`
# (tools/guest-image --script packs it; busybox sh runs it in the guest). The kernel command
# line's bench.phase= says what to do; each phase prints "BBL up ..." first:
#   probe    only that line (balloon_driver=yes once virtio_balloon bound a device), then the
#            guest's /init powers off
#   inflate  writes all but 16 MiB of its free memory into a ramfs file and removes it, so that
#            every free page is backed by the host; "BBL ready"; then "BBL inflated" once
#            MemTotal fell by 256 MiB (the balloon took it), and idles
#   report   waits 4 s (free page reporting first reports what the boot freed), writes 200 MiB
#            into ramfs, "BBL filled", waits 5 s (the host reads its memory), removes the file,
#            "BBL freed", and idles
# The host side (bench-balloon-run.sh) kills the monitor once it has measured.
phase=probe
# shellcheck disable=SC2013 # the command line's words
for w in $(cat /proc/cmdline); do
	case $w in
	bench.phase=*) phase=${w#*=} ;;
	esac
done
kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
drv=no
for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
	[ -e "$d" ] && drv=yes
done
echo "BBL up balloon_driver=$drv total_kb=$(kb MemTotal) free_kb=$(kb MemFree)"
[ "$phase" = probe ] && exit 0
mkdir -p /fill && mount -t ramfs none /fill
if [ "$phase" = inflate ]; then
	n=$(($(kb MemFree) / 1024 - 16))
	dd if=/dev/zero of=/fill/f bs=1M count=$n 2>/dev/null
	rm /fill/f
	total=$(kb MemTotal)
	echo "BBL ready filled_mib=$n free_kb=$(kb MemFree)"
	i=0
	while [ "$(kb MemTotal)" -gt $((total - 256 * 1024)) ] && [ $i -lt 3000 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	echo "BBL inflated total_kb=$(kb MemTotal) (was $total) free_kb=$(kb MemFree)"
else
	sleep 4
	dd if=/dev/zero of=/fill/f bs=1M count=200 2>/dev/null
	echo "BBL filled mib=$(du -m /fill/f | cut -f1) free_kb=$(kb MemFree)"
	sleep 5
	rm /fill/f
	echo "BBL freed"
fi
while :; do sleep 3600; done
