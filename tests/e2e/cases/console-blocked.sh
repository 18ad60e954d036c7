# shellcheck shell=sh
# e2e: alone (it measures time)
# ember's stdout is a pipe nobody reads (`ember run vm.cfg | less` left alone, a supervisor that
# stopped reading) and the guest prints without end: its vCPU blocks writing the console
# (back-pressure: nothing is dropped), yet SIGTERM still ends ember at once with status 0.
# A second run puts ember's stderr into the same unread pipe (`2>&1 | less`): its own message
# about stopping cannot be written either and must not hang it (a log line waits at most a
# second for room, then is dropped).
guest g 1 256 poweroff <<'G'
echo E2E_FLOOD_START
while :; do
	echo "E2E_FLOOD 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
done
G
# blocked_run TAG STDERR LIMIT: ember with stdout (and, for STDERR=fifo, stderr) in a full fifo.
blocked_run() {
	rm -f console.fifo
	mkfifo console.fifo || fail "cannot make a fifo"
	# The reader that never reads: read-write, so that neither this open nor ember's blocks.
	exec 3<>console.fifo
	# shellcheck disable=SC2034 # show_last reads it
	E2E_LAST=$1
	echo "run: ember run g.cfg (> console.fifo, never read; stderr: $2)"
	E2E_T0=$(now)
	if [ "$2" = fifo ]; then
		"$E2E_EMBER" run g.cfg </dev/null >console.fifo 2>&1 3<&- &
	else
		"$E2E_EMBER" run g.cfg </dev/null >console.fifo 2>"$1.err" 3<&- &
	fi
	EMBER_PID=$!
	# Wait until a thread of ember sleeps in pipe_write: the fifo is full, the guest blocked.
	blocked=''
	while [ -z "$blocked" ]; do
		alive "$EMBER_PID" || fail "ember ended before its console output blocked"
		awk -v a="$E2E_T0" -v b="$(now)" -v l="$E2E_TIMEOUT" 'BEGIN { exit !(b - a > l) }' &&
			fail "ember's console output never blocked on the full fifo"
		blocked=$(cat /proc/"$EMBER_PID"/task/*/wchan 2>/dev/null | grep pipe_write)
		sleep 0.2
	done
	sleep 0.5
	kill -TERM "$EMBER_PID"
	# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
	E2E_T0=$(now)
	ember_wait 8
	# What ember wrote is still in the fifo (nothing was dropped): read it now, for the checks
	# and for show_last. Close our write end first so that the read ends.
	exec 4<console.fifo
	exec 3>&-
	cat <&4 >"$1.out"
	exec 4<&-
	rm -f console.fifo
	expect_status 0
	note "$1: ember ended $SECS s after SIGTERM (stderr: $2)"
	awk -v s="$SECS" -v l="$3" 'BEGIN { exit !(s <= l) }' ||
		fail "$1: SIGTERM took $SECS s to end ember"
	tr -d '\r' <"$1.out" | grep -q '^E2E_FLOOD_START' ||
		fail "$1: the guest's console output before the block is missing"
}
blocked_run g file 2.5
grep -q 'stopping the VM' g.err || fail "ember did not log that it was stopping"
blocked_run both fifo 4
