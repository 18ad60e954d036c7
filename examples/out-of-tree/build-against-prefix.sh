#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the example plugin using only an installed ember SDK, then checks that it exports
# exactly its entry symbol (and, with EMBER_PLUGIN_CHECK=path/to/plugin-check, that ember
# loads it).
#
#   build-against-prefix.sh PREFIX [OUTDIR]
#       PREFIX: where ember was installed (meson setup --prefix=PREFIX ... && meson install)
#   build-against-prefix.sh --staged BUILDDIR OUTDIR
#       installs BUILDDIR into OUTDIR/stage with DESTDIR (nothing outside OUTDIR is touched)
#       and builds against that staging copy, as CI does.
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
fi

pcdir=$(dirname "$(find "$root" -name ember-sdk.pc | head -n 1)")
[ -f "$pcdir/ember-sdk.pc" ] || { echo "no ember-sdk.pc under $root" >&2; exit 1; }
# A staged tree still names the final prefix inside the .pc: point pkg-config at the stage.
PKG_CONFIG="pkg-config --define-variable=prefix=$root"
export PKG_CONFIG_PATH="$pcdir"
make -s -C "$here" OUT="$out" PKG_CONFIG="$PKG_CONFIG"

exports=$(nm -D --defined-only "$out/acme-scratch.so" | awk '$2 ~ /[TDBRVW]/ {print $3}')
if [ "$exports" != "ember_plugin_entry" ]; then
	echo "acme-scratch.so exports: $exports" >&2
	exit 1
fi
# Optionally load it with ember's own loader (tests/harness/plugin-check from a build tree).
if [ -n "${EMBER_PLUGIN_CHECK:-}" ]; then
	"$EMBER_PLUGIN_CHECK" "$out/acme-scratch.so"
fi
echo "ok: $out/acme-scratch.so built against $(PKG_CONFIG_PATH=$pcdir pkg-config --modversion ember-sdk) from $root"
