# shellcheck shell=sh
# profiles: a guest booted from each profile in conf/ (by name, as installed) finds exactly the
# devices the profile lists: the number of virtio devices and their device ids, and pvpanic's
# ACPI node (QEMU0001) only where it is listed; and ember's process has exactly the listed
# plugins' .so files mapped (/proc/PID/maps of the running ember), no other plugin. Then the same
# for a file that overrides a profile: ci-runner without its scratch disk, plus a pvpanic. The
# expected set is also what `ember check --print` resolves, so the listing and the VM agree.
#
# The profiles come from the ember binary's own folder: in nested mode L1 needs the build's
# conf/ (tests/e2e/l1-image copies it; or EMBER_E2E_L1_EXTRA=<build>/conf).

profiles=$("$E2E_EMBER" profiles 2>&1) ||
	fail "ember profiles found none (in L1, the build's conf/ must be there): $profiles"
for p in minimal serverless ci-runner debug; do
	echo "$profiles" | grep -qE "^  $p +[^ ]" || fail "ember profiles does not list $p: $profiles"
done

truncate -s 64M root.img scratch.img || fail "cannot create the images"

# The guest reports what it has, then waits (ember.end=none) while the host reads ember's maps.
# shellcheck disable=SC2016 # expanded in the guest
GUEST_SCRIPT='
fact virtio "$(ls /sys/bus/virtio/devices 2>/dev/null | wc -l)"
fact ids "$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | sort | tr "\n" " " | sed "s/ $//")"
fact pvpanic "$(cat /sys/bus/acpi/devices/*/hid 2>/dev/null | grep -c QEMU0001)"
fact ready 1
'

# boot TAG CONFIG-BODY: writes TAG.cfg (the body after the boot group) and boots it.
boot() {
	guest "$1" 1 256 none <<G
$GUEST_SCRIPT
G
	# guest wrote a plain TAG.cfg; this one starts from a profile instead.
	{
		echo "# e2e case profiles: $1"
		echo "$2"
		echo "boot = { kernel = \"$GUEST_KERNEL_FILE\"; initrd = \"$1.initrd\"; cmdline = \"$GUEST_CMDLINE ember.end=none\"; };"
		echo "$3"
	} >"$1.cfg"
}

# The plugins (.so base names, sorted, one line) `ember check --print TAG.cfg` resolves to.
resolved_plugins() {
	"$E2E_EMBER" check --print "$1.cfg" >"$1.print" 2>"$1.print.err" ||
		fail "ember check --print $1.cfg: $(cat "$1.print.err")"
	sed -n 's/^devices\[[0-9]*\]\.plugin = "\(.*\)".*/\1.so/p' "$1.print" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# The plugin .so files mapped into the running ember (base names, sorted, one line).
mapped_plugins() {
	awk '$6 ~ /\/plugins\/[^\/]*\.so$/ { print $6 }' "/proc/$EMBER_PID/maps" |
		sed 's|.*/||' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# check TAG VIRTIO IDS PVPANIC PLUGINS: boot TAG.cfg and compare what the guest and ember have.
check() {
	want_plugins=$(resolved_plugins "$1")
	[ "$want_plugins" = "$5" ] ||
		fail "$1: ember check --print resolves plugins '$want_plugins', the profile lists '$5'"
	ember_start "$1" run "$1.cfg"
	wait_for "$1" '^E2E_FACT ready=1'
	got=$(mapped_plugins)
	kill -TERM "$EMBER_PID"
	ember_wait
	expect_status 0
	[ "$got" = "$5" ] || fail "$1: ember has '$got' mapped, expected exactly '$5'"
	expect_fact "$1" virtio "$2"
	expect_fact "$1" ids "$3"
	expect_fact "$1" pvpanic "$4"
	note "$1: $2 virtio ($3), pvpanic $4, plugins '$got'; ember run $SECS s"
}

boot minimal 'profile = "minimal";'
check minimal 0 '' 0 ''

boot serverless 'profile = "serverless";' 'devices = ( { id = "root"; path = "root.img"; } );'
check serverless 2 '0x0002 0x0004' 0 'virtio-blk.so virtio-rng.so'

# The profile's 4 vCPUs and 2 GiB as shipped: only the images are this file's.
boot ci-runner 'profile = "ci-runner";' \
	'devices = ( { id = "root"; path = "root.img"; }, { id = "scratch"; path = "scratch.img"; } );'
check ci-runner 3 '0x0002 0x0002 0x0004' 0 'virtio-blk.so virtio-rng.so'

boot debug 'profile = "debug";'
check debug 0 '' 1 'pvpanic.so'

# Overrides: one vCPU, no scratch disk, an added pvpanic.
boot custom 'profile = "ci-runner";
machine = { vcpus = 1; memory_mib = 256; };' \
	'devices = ( { id = "root"; path = "root.img"; }, { id = "scratch"; remove = true; }, { plugin = "pvpanic"; } );'
check custom 2 '0x0002 0x0004' 1 'pvpanic.so virtio-blk.so virtio-rng.so'
