#!/usr/bin/env bash
# Starts the real Vigil server for the end-to-end suite: a fresh SQLite database, short
# timeouts, and the test clock hook so tests can move server time with the browser's.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${VIGIL_E2E_PORT:-3100}"
data_dir="end2end/${VIGIL_E2E_DATA:-.server-data}"
server="${VIGIL_SERVER_BIN:-target/debug/server}"

rm -rf "$data_dir"
mkdir -p "$data_dir"

export VIGIL_DATA_DIR="$data_dir"
export VIGIL_IDLE_TIMEOUT="${VIGIL_IDLE_TIMEOUT:-2m}"
export VIGIL_WARNING_BEFORE="${VIGIL_WARNING_BEFORE:-1m}"
export VIGIL_HEARTBEAT_INTERVAL="${VIGIL_HEARTBEAT_INTERVAL:-10s}"
export VIGIL_ABSOLUTE_TIMEOUT=1h
export VIGIL_TEST_CLOCK=1
# The suite signs in far more often than a person would.
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=10000
export VIGIL_SIGNIN_LIMIT_PER_IP=10000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=100000
export LEPTOS_OUTPUT_NAME=vigil
export LEPTOS_SITE_ROOT=target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR="127.0.0.1:${port}"
export LEPTOS_RELOAD_PORT=3101
export RUST_LOG="${RUST_LOG:-warn}"

printf '%s' 'correct horse battery' | "$server" user add ada --display-name "Ada Lovelace" --password-stdin
printf '%s' 'another staple battery' | "$server" user add grace --display-name "Grace Hopper" --password-stdin
exec "$server"
