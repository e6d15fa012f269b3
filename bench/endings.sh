#!/usr/bin/env bash
# How soon an ending reaches the open pages, and what idle event streams cost (make bench;
# SPEC §9.3): the cluster of deploy/cluster.sh (three release instances behind haproxy on
# Redis and Postgres) and bench/peers' endings generator, which prints the figures
# (docs/performance.md, "Endings reaching the screen").
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

export VIGIL_CLUSTER_PORT="${ENDINGS_PORT:-3700}"
export VIGIL_CLUSTER_DIR="$PWD/target/endings-cluster"
export VIGIL_SERVER_BIN="${VIGIL_SERVER_BIN:-target/release/server}"
export ENDINGS_PORT="$VIGIL_CLUSTER_PORT" ENDINGS_PASSWORD="endings passphrase"
export ENDINGS_PID="$VIGIL_CLUSTER_DIR/instance-1.pid"
# One user holds up to 100 streams on an instance here (a browser holds one); the sign-in
# limits are for people, not for a generator signing in hundreds of times.
export VIGIL_EVENTS_PER_USER=1000 VIGIL_MAX_SESSIONS_PER_USER=1000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=100000 VIGIL_SIGNIN_LIMIT_PER_IP=100000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=1000000
export RUST_LOG="${RUST_LOG:-error}"

trap 'deploy/cluster.sh stop' EXIT
trap 'exit 143' INT TERM
rm -rf "$VIGIL_CLUSTER_DIR"
deploy/cluster.sh start
for n in $(seq 0 10); do
  printf '%s' "$ENDINGS_PASSWORD" | deploy/cluster.sh user add "ends$n" --password-stdin >/dev/null
done
target/release/endings
