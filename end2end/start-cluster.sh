#!/usr/bin/env bash
# Starts deploy/cluster.sh for the end-to-end suite: three instances behind haproxy on a
# fresh Redis and Postgres. Each instance has its own test clock; the cluster tests move
# all of them. Stops everything when Playwright stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source end2end/server-env.sh

export VIGIL_CLUSTER_PORT="${VIGIL_E2E_CLUSTER_PORT:-3200}"
export VIGIL_CLUSTER_DIR="$(pwd)/end2end/.cluster-data"

trap 'deploy/cluster.sh stop' EXIT
trap 'exit 0' INT TERM
deploy/cluster.sh start
add_accounts deploy/cluster.sh
while true; do sleep 1; done
