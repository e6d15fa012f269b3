#!/usr/bin/env bash
# Starts the real Vigil server for the end-to-end suite on a fresh SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
source end2end/server-env.sh

port="${VIGIL_E2E_PORT:-3100}"
data_dir="end2end/${VIGIL_E2E_DATA:-.server-data}"
server="${VIGIL_SERVER_BIN:-target/debug/server}"

rm -rf "$data_dir"
mkdir -p "$data_dir"

export VIGIL_DATA_DIR="$data_dir"
export VIGIL_LISTEN_ADDR="127.0.0.1:${port}"
# Passkeys need a host name: their tests open the site as localhost (passkeys.spec.ts).
export VIGIL_PUBLIC_URL="http://localhost:${port}"
export LEPTOS_RELOAD_PORT=3101

add_accounts "$server"
exec "$server"
