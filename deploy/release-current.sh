#!/usr/bin/env bash
# Succeeds when the release build is current: target/release/server is the binary the last
# `make release` built (its checksum is in target/release/.vigil-release: a cargo build of
# other features or flags would replace it), no source changed since, and target/site is that
# release's site — every file its hash.txt names is there (a debug build writes target/site
# too, under other names).
#
#   deploy/release-current.sh --record   (after a release build: remember its binary)
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=target/release/.vigil-release
if [ "${1:-}" = --record ]; then
  sha256sum target/release/server >"$stamp"
  exit 0
fi
[ -f "$stamp" ] && [ -f target/release/hash.txt ] || exit 1
sha256sum --status --check "$stamp" || exit 1
changed="$(find Cargo.toml Cargo.lock src app frontend server/Cargo.toml server/src server/migrations \
  style public -newer "$stamp" -type f -print -quit)"
[ -z "$changed" ] || exit 1
pkg=target/site/pkg
hash() { sed -n "s/^$1: *//p" target/release/hash.txt; }
for file in "vigil.$(hash js).js" "vigil.$(hash wasm).wasm" "vigil.$(hash css).css" \
  "__wasm_split_manifest.$(hash manifest).json"; do
  [ -f "$pkg/$file" ] || exit 1
done
