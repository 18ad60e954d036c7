#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The vendor's fuzzing step, against an installed ember only: builds the virtio example
# (../virtio-console, from a fresh copy) with coverage and ASan against the installed SDK, fuzzes
# it with the installed ember-fuzz (it must pass and reach the device), then fuzzes the same
# device with its planted crash (ACME_CONSOLE_PLANTED_BUG), which ember-fuzz must find, report
# with a reproducer, and which the installed ember-fuzz-replay must then fail on.
#
#   fuzz-against-prefix.sh --staged FUZZ_BUILDDIR OUTDIR [SECONDS]
#       FUZZ_BUILDDIR: an ember build configured with -Dfuzzing=true (clang; tools/fuzz makes
#       one in build-fuzz/); installed into OUTDIR/stage with DESTDIR.
#   fuzz-against-prefix.sh PREFIX OUTDIR [SECONDS]
#       an ember installed in PREFIX with -Dfuzzing=true.
# SECONDS (default 20) is the clean run's length; the planted run stops at its finding or 120 s.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--staged" ]; then
	builddir=$2 out=$3 secs=${4:-20}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	rm -rf "$out/stage"
	DESTDIR="$out/stage" meson install -C "$builddir" --no-rebuild --quiet
	prefix=$(meson introspect "$builddir" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
	root="$out/stage$prefix"
else
	root=$(cd "$1" && pwd) out=$2 secs=${3:-20}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
fi
pc=$(find "$root" -name ember-sdk.pc | head -n 1)
[ -n "$pc" ] || { echo "no ember-sdk.pc under $root" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
fresh="$out/virtio-console-src"
rm -rf "$fresh" "$out/clean" "$out/planted"
cp -r "$here/virtio-console" "$fresh"
# No -Wl,--no-undefined here: the sanitizer runtime comes from ember-fuzz's engine.
build() {
	clang -std=c17 -g -O1 $(pkg-config --cflags ember-sdk) -fPIC -fvisibility=hidden -shared \
		-fsanitize=fuzzer-no-link,address "$@"
}
build -o "$out/acme-console.so" "$fresh/console.c"
build -DACME_CONSOLE_PLANTED_BUG -o "$out/acme-console-planted.so" "$fresh/console.c"
# @SCRATCH@ becomes a quoted path to a fresh file per input.
opts='output = @SCRATCH@; greeting = "hello";'

# 1. The device as shipped: no finding, and the inputs reach it.
rc=0
"$root/bin/ember-fuzz" "$out/acme-console.so" "$secs" --options "$opts" \
	--corpus "$out/clean/corpus" --artifacts "$out/clean/artifacts" >"$out/clean.log" 2>&1 || rc=$?
tail -n 1 "$out/clean.log"
if [ "$rc" != 0 ]; then
	echo "fuzz-against-prefix: acme-console: ember-fuzz exited $rc" >&2
	tail -n 20 "$out/clean.log" >&2
	exit 1
fi
grep -q 'reached the device' "$out/clean.log" || { echo "no reached-the-device count" >&2; exit 1; }

# 2. The planted crash must be found, with a reproducer that replays to a failure.
rc=0
"$root/bin/ember-fuzz" "$out/acme-console-planted.so" 120 --options "$opts" \
	--corpus "$out/planted/corpus" --artifacts "$out/planted/artifacts" >"$out/planted.log" 2>&1 ||
	rc=$?
found=$(grep 'ember-fuzz: FOUND after' "$out/planted.log" | tail -n 1 || true)
if [ "$rc" != 1 ] || [ -z "$found" ]; then
	echo "fuzz-against-prefix: the planted crash was not found (ember-fuzz exited $rc)" >&2
	tail -n 20 "$out/planted.log" >&2
	exit 1
fi
echo "$found"
repro=$(echo "$found" | sed -n 's/.*reproducer: \([^;]*\);.*/\1/p')
[ -f "$repro" ] || { echo "fuzz-against-prefix: no reproducer file \"$repro\"" >&2; exit 1; }
if "$root/bin/ember-fuzz-replay" "$out/acme-console-planted.so" "$repro" --options "$opts" \
	>"$out/replay.log" 2>&1; then
	echo "fuzz-against-prefix: the reproducer $repro replays clean" >&2
	exit 1
fi
echo "ok: the installed ember-fuzz passes acme-console and finds its planted crash ($repro)"
