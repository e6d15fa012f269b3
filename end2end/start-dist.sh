#!/usr/bin/env bash
# The packed release as an operator gets it (deploy/dist.sh): unpacked into an empty
# directory, checked with `server check`, and started from another empty directory with
# nothing but the example settings, a secret and the port — no LEPTOS_* variable, no
# repository around it. The suite packs the debug build it has just built; `make dist`
# packs the release the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${VIGIL_E2E_DIST_PORT:-3300}"
archive="$(deploy/dist.sh "${VIGIL_DIST_PROFILE:-debug}")"
root="$PWD/end2end/.dist-run"
rm -rf "$root"
mkdir -p "$root/unpacked" "$root/work"
tar -xzf "$archive" -C "$root/unpacked"
release="$(echo "$root"/unpacked/vigil-*)"

cd "$root/work"
secret="$(head -c 48 /dev/urandom | base64 -w0)"
# A clean environment holding only what the example file sets, the secret and the ports.
launch=(env -i PATH=/usr/bin:/bin HOME="$root/work" bash -c '
  set -ea; source "$0/vigil.env.example"; set +a
  exec "$@"' "$release" env VIGIL_JWT_SECRET="$secret"
  VIGIL_LISTEN_ADDR="127.0.0.1:${port}" VIGIL_METRICS_ADDR="127.0.0.1:$((port + 1))")
"${launch[@]}" "$release/bin/server" check
printf '%s' 'correct horse battery' \
  | "${launch[@]}" "$release/bin/server" user add ada --display-name "Ada Lovelace" --password-stdin
exec "${launch[@]}" "$release/bin/server"
