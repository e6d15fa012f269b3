#!/usr/bin/env bash
# The soak with faults (make soak; not part of make test): the cluster of deploy/cluster.sh
# (three release instances behind haproxy on Redis, append-only, and Postgres) with
# compressed timeouts, SOAK_USERS accounts, and bench/peers' soak generator for SOAK_SECONDS,
# which kills and restarts an instance, restarts Redis and restarts Postgres on the way,
# then prints what it found against the targets. Exit status 1 if any target is missed.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

export SOAK_USERS="${SOAK_USERS:-1000}" SOAK_SECONDS="${SOAK_SECONDS:-600}"
export SOAK_PASSWORD="soak passphrase"
export VIGIL_CLUSTER_PORT="${VIGIL_CLUSTER_PORT:-3500}"
export VIGIL_CLUSTER_DIR="$PWD/target/soak-cluster"
export VIGIL_SERVER_BIN="${VIGIL_SERVER_BIN:-target/release/server}"
# Compressed timeouts: the idle timeout passes many times in a run.
export VIGIL_IDLE_TIMEOUT="${SOAK_IDLE:-45s}" VIGIL_WARNING_BEFORE=20s VIGIL_HEARTBEAT_INTERVAL=5s
export VIGIL_ABSOLUTE_TIMEOUT=2h
export SOAK_IDLE_SECS="${SOAK_IDLE_SECS:-45}"
export SOAK_BASE="http://127.0.0.1:$VIGIL_CLUSTER_PORT" SOAK_CLUSTER="$PWD/deploy/cluster.sh"
export RUST_LOG="${RUST_LOG:-error}"

trap 'deploy/cluster.sh stop' EXIT
trap 'exit 143' INT TERM
deploy/cluster.sh start
echo "creating $SOAK_USERS accounts (and two for the probes)"
seq 0 "$((SOAK_USERS + 1))" | xargs -P "$(nproc)" -I{} sh -c \
  'printf "%s" "$SOAK_PASSWORD" | deploy/cluster.sh user add soak{} --password-stdin >/dev/null'
target/release/soak
