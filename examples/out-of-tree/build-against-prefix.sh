#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the example plugin using only an installed ember SDK, checks that it exports exactly
# its entry symbol, checks it with the installed ember-plugin-check, and builds and runs its
# Criterion test against the installed test kit (`make check`: libember-harness.a through
# ember-harness.pc). Only PKG_CONFIG_PATH points at the install: the .pc files are relocatable.
#
#   build-against-prefix.sh PREFIX [OUTDIR]
#       PREFIX: where ember was installed (meson setup --prefix=PREFIX ... && meson install)
#   build-against-prefix.sh --staged BUILDDIR OUTDIR
#       installs BUILDDIR into OUTDIR/stage with DESTDIR (nothing outside OUTDIR is touched)
#       and builds against that staging copy, as CI does.
# EMBER_PLUGIN_CHECK=path/to/ember-plugin-check also runs that one (e.g. a build tree's).
# EMBER_SKIP_CHECK=1 skips `make check` (a host without Criterion).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--staged" ]; then
	builddir=$2 out=$3
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	rm -rf "$out/stage"
	DESTDIR="$out/stage" meson install -C "$builddir" --no-rebuild --quiet
	prefix=$(meson introspect "$builddir" --buildoptions |
		python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
	root="$out/stage$prefix"
else
	root=$(cd "$1" && pwd) prefix=$root out=${2:-$here}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
fi

pc=$(find "$root" -name ember-sdk.pc | head -n 1)
[ -n "$pc" ] || { echo "no ember-sdk.pc under $root" >&2; exit 1; }
pcdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pcdir"
# The relocatable .pc must resolve to the tree it sits in (a staged one too).
incdir=$(pkg-config --variable=includedir ember-sdk)
[ -f "$incdir/ember/device.h" ] || { echo "ember-sdk.pc: includedir $incdir has no ember/device.h" >&2; exit 1; }
make -s -C "$here" OUT="$out"

exports=$(nm -D --defined-only "$out/acme-scratch.so" | awk '$2 ~ /[TDBRVW]/ {print $3}')
if [ "$exports" != "ember_plugin_entry" ]; then
	echo "acme-scratch.so exports: $exports" >&2
	exit 1
fi
# Load it with ember's own loader: the installed checker, and any other one asked for.
"$root/bin/ember-plugin-check" --options 'initial = 42;' "$out/acme-scratch.so" >/dev/null
if [ -n "${EMBER_PLUGIN_CHECK:-}" ]; then
	"$EMBER_PLUGIN_CHECK" "$out/acme-scratch.so" >/dev/null
fi
if [ "${EMBER_SKIP_CHECK:-0}" != 1 ]; then
	make -s -C "$here" OUT="$out" check
fi
echo "ok: $out/acme-scratch.so built and tested against $(pkg-config --modversion ember-sdk) from $root"
