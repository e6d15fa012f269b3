#!/usr/bin/env bash
# Succeeds when the release build is current: target/release/server and the hash.txt beside it
# are what the last `make release` built (their checksums are in target/release/.vigil-release:
# a cargo build of other features or flags would replace the binary), no source or build
# setting changed since that build began, and target/site is that release's site.
#
#   deploy/release-current.sh --begin    (before a release build: note when it began)
#   deploy/release-current.sh --record   (after it: remember what it made)
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=target/release/.vigil-release
began=target/release/.vigil-release-began
case "${1:-}" in
  --begin) mkdir -p target/release && touch "$began" && rm -f "$stamp"; exit 0 ;;
  --record)
    sha256sum target/release/server target/release/hash.txt >"$stamp"
    # A source saved while the build ran is newer than this and counts as changed.
    touch -r "$began" "$stamp"
    exit 0 ;;
esac
[ -f "$stamp" ] && sha256sum --status --check "$stamp" || exit 1
changed="$(find Makefile Cargo.toml Cargo.lock src app frontend server/Cargo.toml server/src \
  server/migrations style public -newer "$stamp" -type f -print -quit)"
[ -z "$changed" ] || exit 1
deploy/site-matches.sh target/release/hash.txt
