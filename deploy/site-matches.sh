#!/usr/bin/env bash
# Succeeds when target/site/pkg holds every file the hash.txt given names (the build that
# wrote it made this site): a debug and a release build both write target/site, under other
# names. Leptos and server/src/site.rs read the same file, `kind: hash` per line.
#
#   deploy/site-matches.sh target/release/hash.txt
set -euo pipefail
cd "$(dirname "$0")/.."
hashes="$1"
pkg=target/site/pkg
[ -f "$hashes" ] || exit 1
hash() { sed -n "s/^$1: *//p" "$hashes"; }
for file in "vigil.$(hash js).js" "vigil.$(hash wasm).wasm" "vigil.$(hash css).css" \
  "__wasm_split_manifest.$(hash manifest).json" "__wasm_split.$(hash split).js"; do
  [ -f "$pkg/$file" ] || exit 1
done
