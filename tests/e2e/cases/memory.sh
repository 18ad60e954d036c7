# shellcheck shell=sh
# MemTotal fits memory_mib: a 256 MiB VM reports between 200 and 256 MiB.
guest g 1 256 poweroff <<'G'
fact memtotal_kb "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
G
ember_run g run g.cfg
expect_status 0
kb=$(fact g memtotal_kb)
[ -n "$kb" ] || fail "the guest reported no MemTotal"
if [ "$kb" -lt $((200 * 1024)) ] || [ "$kb" -gt $((256 * 1024)) ]; then
	fail "MemTotal $kb kB is not within 200..256 MiB"
fi
note "MemTotal $((kb / 1024)) MiB of 256"
