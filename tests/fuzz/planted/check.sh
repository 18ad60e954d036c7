#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# tests/fuzz/planted/check.sh BUILD [BINDIR]: the fuzzer's own test, on fuzz-planted.so
# (planted.c here: a device that overruns a heap buffer on a 32-bit write to offset 8 whose bits
# 31..28 are 0xa).
#
#   BUILD   a meson build folder of ember (has tools/fuzz-driver/fuzz-planted.so)
#   BINDIR  where ember-fuzz and ember-fuzz-replay are (default BUILD/tools/fuzz-driver; an
#           installed bin/ works too)
#
# Checks, in every build:
#   - ember-fuzz without arguments: usage, exit 2;
#   - without the plugin's required option it fails loudly: exit 3, naming the option
#     (--seeds-only, which needs no engine; with an engine also a fuzzing run);
#   - a corpus mostly refused at create fails: exit 4 with the counts;
#   - an input that reaches the planted bug replays to a failure, one that does not replays clean;
# with a fuzzing engine (ember built with -Dfuzzing=true):
#   - ember-fuzz finds the planted bug within EMBER_PLANTED_SECONDS (60): exit 1, a FOUND line with
#     the time to it and a reproducer, and the printed replay command fails on that reproducer;
# without one:
#   - ember-fuzz says there is no engine and exits 5 (never "no failure").
# Exit status: 0 every check passed, 1 one failed, 2 usage.
set -eu

[ $# -ge 1 ] || {
	echo "usage: tests/fuzz/planted/check.sh BUILD [BINDIR]" >&2
	exit 2
}
build=$(cd "$1" && pwd)
bindir=${2:-$build/tools/fuzz-driver}
secs=${EMBER_PLANTED_SECONDS:-60}
so=$build/tools/fuzz-driver/fuzz-planted.so
fuzz=$bindir/ember-fuzz
replay=$bindir/ember-fuzz-replay
for f in "$so" "$fuzz" "$replay"; do
	[ -e "$f" ] || {
		echo "check.sh: $f is missing (build it first)" >&2
		exit 2
	}
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-planted-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
opts='token = "planted";'
failed=0

pass() { echo "planted: ok: $*"; }
fail() {
	echo "planted: FAILED: $*"
	sed 's/^/    /' "$tmp/out"
	failed=1
}

# run NAME CMD...: runs CMD with its output in $tmp/out; sets rc.
run() {
	name=$1
	shift
	rc=0
	"$@" >"$tmp/out" 2>&1 || rc=$?
	echo "planted: $name: exit $rc" >>"$tmp/all.log"
	cat "$tmp/out" >>"$tmp/all.log"
}

# Inputs in the driver's format (tools/fuzz-driver/README.md): a 6-byte header (token: not set
# from the header; layout: mode 0 = its default 1, mode 2 = its maximum 4, which create refuses),
# then operations. MMIO_WRITE (1) off:u16 = 8, size:u8 = 3 (1 + 3 = 4 bytes), val:u64 = 0xa5000003 (the
# bug) or 0x5a000003 (harmless).
header_ok='\000\000\000\000\000\000'
header_refused='\000\000\000\002\000\000'
magic_write='\001\010\000\003\003\000\000\245\000\000\000\000'
other_write='\001\010\000\003\003\000\000\132\000\000\000\000'
# bytes ESCAPES...: the octal escapes above as bytes (they are printf formats on purpose).
bytes() {
	# shellcheck disable=SC2059
	printf "$(printf '%s' "$@")"
}
mkdir -p "$tmp/mostly-refused" "$tmp/art"
bytes "$header_ok" "$magic_write" >"$tmp/magic"
bytes "$header_ok" "$other_write" >"$tmp/harmless"
for i in 1 2 3; do
	bytes "$header_refused" "$other_write" >"$tmp/mostly-refused/refused-$i"
done
bytes "$header_ok" "$other_write" >"$tmp/mostly-refused/ok"

run usage "$fuzz"
if [ "$rc" = 2 ] && grep -q '^usage: ember-fuzz' "$tmp/out"; then
	pass "no arguments: usage, exit 2"
else
	fail "no arguments: expected usage and exit 2, got exit $rc"
fi

run no-token "$fuzz" "$so" --seeds-only --corpus "$tmp/c0" --artifacts "$tmp/art"
if [ "$rc" = 3 ] && grep -q 'required, not given: token' "$tmp/out"; then
	pass "required option missing (--seeds-only): exit 3, names it"
else
	fail "required option missing (--seeds-only): expected exit 3 naming token, got exit $rc"
fi

run mostly-refused "$fuzz" "$so" --seeds-only --options "$opts" --corpus "$tmp/mostly-refused" \
	--artifacts "$tmp/art"
if [ "$rc" = 4 ] && grep -q 'only 1 of 4 inputs (25.0%) reached the device' "$tmp/out"; then
	pass "3 of 4 inputs refused at create: exit 4 with the counts"
else
	fail "3 of 4 inputs refused at create: expected exit 4 with the counts, got exit $rc"
fi

run replay-harmless "$replay" "$so" "$tmp/harmless" --options "$opts"
if [ "$rc" = 0 ] && grep -q '1 inputs ran (1 reached the device' "$tmp/out"; then
	pass "a harmless input replays clean"
else
	fail "a harmless input: expected exit 0, got exit $rc"
fi

run replay-magic "$replay" "$so" "$tmp/magic" --options "$opts"
case $rc in
0 | 2 | 3 | 4 | 5) fail "the planted input: expected a failure, got exit $rc" ;;
*) pass "the planted input replays to a failure (exit $rc)" ;;
esac

run seeds-only-magic "$fuzz" "$so" --seeds-only --options "$opts" --corpus "$tmp/magic-corpus" \
	--artifacts "$tmp/art"
# The generated seeds do not write the magic value: a clean pass with the counts.
if [ "$rc" = 0 ] && grep -q 'no failure in .* inputs (.* reached the device)' "$tmp/out"; then
	pass "--seeds-only on generated seeds: no failure, with the counts"
else
	fail "--seeds-only on generated seeds: expected exit 0, got exit $rc"
fi
cp "$tmp/magic" "$tmp/magic-corpus/zz-magic"
run seeds-only-found "$fuzz" "$so" --seeds-only --options "$opts" --corpus "$tmp/magic-corpus" \
	--artifacts "$tmp/art"
if [ "$rc" = 1 ] && grep -q "FOUND after .*reproducer: $tmp/magic-corpus/zz-magic;" "$tmp/out"; then
	pass "--seeds-only with the planted input: exit 1, FOUND names it"
else
	fail "--seeds-only with the planted input: expected exit 1 and FOUND, got exit $rc"
fi

# Is there an engine? ember-fuzz answers 5 when there is none, before touching the plugin.
run engine-probe "$fuzz" "$so" 1 --corpus "$tmp/probe" --artifacts "$tmp/art"
if [ "$rc" = 5 ]; then
	if grep -q 'no fuzzing engine' "$tmp/out" && grep -q -- '-Dfuzzing=true' "$tmp/out"; then
		pass "no engine in this build: exit 5, says how to get one"
	else
		fail "no engine: expected the reason and how to get one"
	fi
	echo "planted: (no fuzzing engine: the fuzzing run is checked in a -Dfuzzing=true build)"
else
	if [ "$rc" = 3 ] && grep -q 'required, not given: token' "$tmp/out"; then
		pass "required option missing (fuzzing): exit 3 before any input, names it"
	else
		fail "required option missing (fuzzing): expected exit 3 naming token, got exit $rc"
	fi

	run fuzz "$fuzz" "$so" "$secs" --options "$opts" --corpus "$tmp/corpus" \
		--artifacts "$tmp/artifacts"
	line=$(grep '^ember-fuzz: FOUND after ' "$tmp/out" || true)
	repro=$(echo "$line" | sed -n 's/.*; reproducer: \([^;]*\); replay: .*/\1/p')
	cmd=$(echo "$line" | sed -n 's/.*; replay: //p')
	if [ "$rc" = 1 ] && [ -n "$repro" ] && [ -f "$repro" ] &&
		echo "$line" | grep -q 'heap-buffer-overflow'; then
		pass "found the planted bug: $(echo "$line" | sed 's/^ember-fuzz: \(FOUND after [^:]*\):.*/\1/')"
		echo "planted: $line"
		rc=0
		(eval "$cmd") >"$tmp/out" 2>&1 || rc=$?
		case $rc in
		0 | 2 | 3 | 4 | 5) fail "the printed replay command: expected a failure, got exit $rc" ;;
		*) pass "the printed replay command fails on the reproducer (exit $rc)" ;;
		esac
	else
		fail "fuzzing fuzz-planted for $secs s: expected exit 1 with a FOUND line and a reproducer, got exit $rc"
	fi
fi

if [ "$failed" != 0 ]; then
	echo "planted: FAILED (all output: rerun with the same BUILD; logs under ember-fuzz's --artifacts)"
	exit 1
fi
echo "planted: all checks passed"
