# shellcheck shell=sh
# A plugin built for another ABI major is refused with one line naming the file and both
# versions, by `ember check` and `ember run`, and nothing starts.
dir=$(test_plugins_dir)
[ -f "$dir/tp-major2.so" ] || fail "no test plugin $dir/tp-major2.so (build the unit tests)"
mkdir -p plugins
cp "$dir/tp-major2.so" plugins/tp-major2.so
DEVICES='{ plugin = "tp-major2"; }'
PLUGIN_DIRS='"plugins"'
guest g 1 256 poweroff </dev/null
for cmd in check run; do
	ember_run "$cmd" "$cmd" "$PWD/g.cfg"
	expect_status 2
	grep -q 'tp-major2.so' "$cmd.err" || fail "ember $cmd: the message does not name the file"
	grep -q 'ABI 2\.' "$cmd.err" && grep -q 'ABI 1\.' "$cmd.err" ||
		fail "ember $cmd: the message does not give both ABI versions: $(cat "$cmd.err")"
	[ "$(grep -c . "$cmd.err")" = 1 ] || fail "ember $cmd: expected one stderr line"
	[ ! -s "$cmd.out" ] || fail "ember $cmd: a guest started"
done
note "$(cat run.err)"
