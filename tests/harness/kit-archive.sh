#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# kit-archive.sh OUT.a LD OBJCOPY AR LIB.a...: links the static libraries into one relocatable
# object, keeps only ember_harness_* global (the rest of ember's names become local), and
# archives it as OUT.a. Used by tests/harness/meson.build for the installed libember-harness.a.
set -eu
out=$1 ld=$2 objcopy=$3 ar=$4
shift 4
obj="$out.d/ember-harness.o"
rm -rf "$out.d" "$out"
mkdir -p "$out.d"
"$ld" -r -o "$obj" --whole-archive "$@" --no-whole-archive
"$objcopy" --wildcard --keep-global-symbol='ember_harness_*' "$obj"
"$ar" rcsD "$out" "$obj"
rm -rf "$out.d"
