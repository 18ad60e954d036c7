# shellcheck shell=sh
# A bad config (vcpus = 0) is refused by `ember check` and by `ember run`: exit status 2, one
# message naming FILE:LINE: of the bad key, and no guest starts.
guest good 1 256 poweroff </dev/null
sed 's/vcpus = 1;/\
  vcpus = 0;\
/' good.cfg >bad.cfg
line=$(grep -n 'vcpus = 0;' bad.cfg | cut -d: -f1)
[ -n "$line" ] || fail "could not write the bad config"
for cmd in check run; do
	ember_run "$cmd" "$cmd" "$PWD/bad.cfg"
	expect_status 2
	[ "$(grep -c "bad\.cfg:$line:" "$cmd.err")" = 1 ] ||
		fail "ember $cmd: expected one message with 'bad.cfg:$line:' on stderr"
	[ "$(grep -c . "$cmd.err")" = 1 ] || fail "ember $cmd: expected one stderr line, got $(grep -c . "$cmd.err")"
	[ ! -s "$cmd.out" ] || fail "ember $cmd: a guest started (stdout not empty)"
	! grep -q 'boot-timer' "$cmd.err" || fail "ember $cmd: a guest started (boot-timer)"
done
ember_run ok check "$PWD/good.cfg"
expect_status 0
