#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds both example plugins (this folder's MMIO acme-scratch, ../virtio-console's acme-console
# from a fresh copy) using only an installed ember SDK, checks that each exports exactly its
# entry symbol, checks them with the installed ember-plugin-check (with and without required
# options), builds and runs their Criterion tests against the installed test kit (`make check`:
# libember-harness.a through ember-harness.pc), and runs the installed `ember check` on a VM
# that uses acme-console. Only PKG_CONFIG_PATH points at the install: the .pc files are
# relocatable. The e2e suite boots guests with the .so files left in OUTDIR.
#
#   build-against-prefix.sh PREFIX [OUTDIR]
#       PREFIX: where ember was installed (meson setup --prefix=PREFIX ... && meson install)
#   build-against-prefix.sh --staged BUILDDIR OUTDIR
#       installs BUILDDIR into OUTDIR/stage with DESTDIR (nothing outside OUTDIR is touched)
#       and builds against that staging copy, as CI does.
# EMBER_PLUGIN_CHECK=path/to/ember-plugin-check also runs that one (e.g. a build tree's).
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
make -s -C "$here" OUT="$out" check
echo "ok: $out/acme-scratch.so built and tested against $(pkg-config --modversion ember-sdk) from $root"

# The virtio example, from a fresh copy of its folder (as a vendor starts), the same way: build,
# one exported symbol, the installed checker with its required option, its Criterion test, and
# `ember check` of a VM that uses it (required option given, then missing).
fresh="$out/virtio-console-src"
rm -rf "$fresh"
cp -r "$here/../virtio-console" "$fresh"
make -s -C "$fresh" OUT="$out" "$out/acme-console.so"
exports=$(nm -D --defined-only "$out/acme-console.so" | awk '$2 ~ /[TDBRVW]/ {print $3}')
if [ "$exports" != "ember_plugin_entry" ]; then
	echo "acme-console.so exports: $exports" >&2
	exit 1
fi
"$root/bin/ember-plugin-check" --options "output = \"$out/console.check\";" \
	"$out/acme-console.so" >/dev/null
if "$root/bin/ember-plugin-check" "$out/acme-console.so" >"$out/console-noopt.log" 2>&1; then
	echo "ember-plugin-check accepted acme-console without its required output option" >&2
	exit 1
fi
make -s -C "$fresh" OUT="$out" check
vm="$out/console-vm"
rm -rf "$vm"
mkdir -p "$vm/plugins"
cp "$out/acme-console.so" "$vm/plugins/"
: >"$vm/vmlinuz"
for given in yes no; do
	opt=''
	[ "$given" = yes ] && opt='output = "console.out";'
	printf '%s\n' 'machine = { vcpus = 1; memory_mib = 64; };' 'boot = { kernel = "vmlinuz"; };' \
		"devices = ( { plugin = \"acme-console\"; $opt } );" 'plugin_dirs = [ "plugins" ];' \
		>"$vm/vm.cfg"
	rc=0
	"$root/bin/ember" check "$vm/vm.cfg" >"$vm/check-$given.log" 2>&1 || rc=$?
	if [ "$given" = yes ] && [ "$rc" != 0 ]; then
		echo "ember check refused a good acme-console VM: $(cat "$vm/check-$given.log")" >&2
		exit 1
	fi
	if [ "$given" = no ] && { [ "$rc" != 2 ] ||
		! grep -q 'devices\[0\]\.output: missing' "$vm/check-$given.log"; }; then
		echo "ember check without output: status $rc, $(cat "$vm/check-$given.log")" >&2
		exit 1
	fi
done
echo "ok: $out/acme-console.so built, checked and tested against the installed kit"
