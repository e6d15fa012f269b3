#!/usr/bin/env bash
# Packs a release into target/dist/vigil-<version>-<target>.tar.gz: bin/server with the
# hash.txt its build wrote beside it (Leptos reads the hashed file names from there), site/
# (the browser's files with their compressed copies), the example settings, the systemd unit
# and the operations guide. The binary finds site/ beside bin/ by itself (server/src/site.rs).
#
#   deploy/dist.sh [release|debug]   (make dist: release; the end-to-end suite packs its debug build)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-release}"
version="$(awk -F'"' '/^version = / { print $2; exit }' server/Cargo.toml)"
target="$(rustc -vV | sed -n 's/^host: //p')"
name="vigil-${version}-${target}"
[ "$profile" = release ] || name="${name}-${profile}"
bin="target/${profile}"

for file in "$bin/server" "$bin/hash.txt" target/site/pkg; do
  [ -e "$file" ] || { echo "dist: $file is missing (build the ${profile} site first)" >&2; exit 1; }
done
deploy/site-matches.sh "$bin/hash.txt" \
  || { echo "dist: target/site is not the ${profile} build's site (build it again)" >&2; exit 1; }

stage="target/dist/${name}"
rm -rf "$stage" "target/dist/${name}.tar.gz"
mkdir -p "$stage/bin"
# Without debug information: what a server needs to run and to print a backtrace.
objcopy --strip-debug "$bin/server" "$stage/bin/server"
cp "$bin/hash.txt" "$stage/bin/hash.txt"
cp -r target/site "$stage/site"
cp deploy/dist/vigil.env.example deploy/dist/vigil.service "$stage/"
cp docs/operations.md "$stage/OPERATIONS.md"
# Owned by root and writable by nobody else once unpacked, whoever built it.
tar -C target/dist --owner=0 --group=0 --numeric-owner --mode=go-w \
  -czf "target/dist/${name}.tar.gz" "$name"
rm -rf "$stage"
echo "target/dist/${name}.tar.gz"
