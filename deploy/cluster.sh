#!/usr/bin/env bash
# Several Vigil instances on one machine, as operators run them behind a load balancer:
# Redis (append-only) for sessions and sign-in limits, Postgres for everything else, three
# server instances, and haproxy in front (round robin, no stickiness, health-checked on
# /health/live).
#
#   deploy/cluster.sh run        # start, print the URL, stop everything on Ctrl-C (make run-cluster)
#   deploy/cluster.sh start      # start in the background
#   deploy/cluster.sh stop
#   deploy/cluster.sh kill N     # SIGKILL instance N (1-3), as a crash would
#   deploy/cluster.sh restart N  # start instance N again and wait until it is ready
#   deploy/cluster.sh stop-redis | start-redis | stop-postgres | start-postgres
#                                # one engine down and back on its data
#
# VIGIL_CLUSTER_DIR (target/cluster) holds data, logs and pid files; VIGIL_CLUSTER_PORT
# (3000) is haproxy's port and instances listen on the next three ports after
# VIGIL_CLUSTER_PORT+10; VIGIL_SERVER_BIN (target/debug/server) is the server binary.
# Every other VIGIL_* variable set by the caller reaches every instance.
set -euo pipefail
# Debian installs haproxy (and other daemons) in sbin, which an ordinary user's PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

DIR=${VIGIL_CLUSTER_DIR:-$(pwd)/target/cluster}
PORT=${VIGIL_CLUSTER_PORT:-3000}
SERVER=${VIGIL_SERVER_BIN:-target/debug/server}
INSTANCES=3
PG_PORT=$((PORT + 2400))
REDIS_PORT=$((PORT + 3400))

ERRORFILE=$(pwd)/deploy/haproxy/unavailable.http

instance_port() { echo $((PORT + 10 + $1)); }

services() {
  VIGIL_SERVICES_DIR="$DIR/stores" VIGIL_SERVICES_PG_PORT=$PG_PORT \
    VIGIL_SERVICES_REDIS_PORT=$REDIS_PORT VIGIL_SERVICES_DURABLE=1 deploy/services.sh "$@"
}

# What every instance and the command line share.
export_settings() {
  export VIGIL_DATABASE_URL="postgres://vigil@127.0.0.1:$PG_PORT/postgres"
  export VIGIL_SESSION_STORE="redis://127.0.0.1:$REDIS_PORT"
  export VIGIL_JWT_SECRET_FILE="$DIR/jwt-secret"
  export VIGIL_TRUSTED_PROXIES="127.0.0.1"
  # The address people reach the cluster at: haproxy's (passkeys are bound to it).
  export VIGIL_PUBLIC_URL="${VIGIL_PUBLIC_URL:-http://localhost:$PORT}"
  export VIGIL_DATA_DIR="$DIR"
  export RUST_LOG="${RUST_LOG:-warn}"
}

# Answers whether 127.0.0.1:$1 answers `GET $2` with 200.
answers() {
  local status
  status=$( { exec 3<>"/dev/tcp/127.0.0.1/$1" \
    && printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 \
    && head -n 1 <&3; } 2>/dev/null || true)
  [[ "$status" == *" 200 "* ]]
}

wait_until_answers() {
  for _ in $(seq 300); do
    answers "$1" "$2" && return 0
    sleep 0.1
  done
  echo "nothing answered GET $2 on port $1 (logs in $DIR)" >&2
  return 1
}

start_instance() {
  local n=$1 port
  port=$(instance_port "$n")
  VIGIL_LISTEN_ADDR="127.0.0.1:$port" LEPTOS_RELOAD_PORT=$((port + 100)) \
    nohup "$SERVER" >"$DIR/instance-$n.log" 2>&1 &
  echo $! >"$DIR/instance-$n.pid"
}

haproxy_config() {
  cat <<CFG
global
  maxconn 4096
  pidfile $DIR/haproxy.pid

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  # A request refused by an instance that is gone is sent to another one; so is one whose
  # instance died before answering, when repeating it cannot apply anything twice (below).
  retries 2
  option redispatch
  option forwardfor
  retry-on conn-failure empty-response
  # What haproxy itself answers (no instance up, one died mid-answer) is the API's own
  # problem, 503 store_unavailable with Retry-After, never an HTML page.
  errorfile 502 $ERRORFILE
  errorfile 503 $ERRORFILE
  errorfile 504 $ERRORFILE

frontend vigil
  bind 127.0.0.1:$PORT
  default_backend instances

backend instances
  balance roundrobin
  # Safe to repeat elsewhere: reads, changes that carry an Idempotency-Key (the second
  # answer is the first one again), and refresh (the token it presents stays honoured for the
  # grace window). Never sign-in, sign-out, a password change or ending sessions.
  acl replayable method GET HEAD
  acl replayable req.hdr(idempotency-key) -m found
  acl replayable path /api/auth/session-info /api/auth/me /api/auth/policy /api/auth/refresh
  http-request disable-l7-retry unless replayable
  # Live, not ready: when a store every instance shares is down, taking them all out would
  # refuse even what needs no store; they answer 503 store_unavailable themselves instead.
  option httpchk GET /health/live
  http-check expect status 200
  default-server inter 1s fall 2 rise 1
CFG
  for n in $(seq "$INSTANCES"); do
    echo "  server vigil-$n 127.0.0.1:$(instance_port "$n") check"
  done
}

stop() {
  if [ -f "$DIR/haproxy.pid" ]; then
    kill "$(cat "$DIR/haproxy.pid")" 2>/dev/null || true
    rm -f "$DIR/haproxy.pid"
  fi
  for n in $(seq "$INSTANCES"); do
    if [ -f "$DIR/instance-$n.pid" ]; then
      kill "$(cat "$DIR/instance-$n.pid")" 2>/dev/null || true
      rm -f "$DIR/instance-$n.pid"
    fi
  done
  services stop
}

start() {
  [ -x "$SERVER" ] || { echo "$SERVER is missing: build first (make build)" >&2; exit 1; }
  command -v haproxy >/dev/null || { echo "haproxy is not installed (make stores)" >&2; exit 1; }
  stop
  mkdir -p "$DIR"
  services start >/dev/null
  head -c 48 /dev/urandom | base64 | tr -d '\n' >"$DIR/jwt-secret"
  export_settings
  # The first instance to start migrates the schema; the others find it done.
  for n in $(seq "$INSTANCES"); do
    start_instance "$n"
  done
  for n in $(seq "$INSTANCES"); do
    wait_until_answers "$(instance_port "$n")" /health/ready
  done
  haproxy_config >"$DIR/haproxy.cfg"
  haproxy -q -D -f "$DIR/haproxy.cfg"
  wait_until_answers "$PORT" /health/ready
}

# Runs the server's command line against the cluster's stores.
server_command() {
  export_settings
  "$SERVER" "$@"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill)
    n=${2:?which instance}
    kill -9 "$(cat "$DIR/instance-$n.pid")"
    rm -f "$DIR/instance-$n.pid"
    ;;
  restart)
    n=${2:?which instance}
    export_settings
    start_instance "$n"
    wait_until_answers "$(instance_port "$n")" /health/ready
    ;;
  stop-redis | start-redis | stop-postgres | start-postgres) services "$1" ;;
  user) shift; server_command user "$@" ;;
  run)
    trap stop EXIT
    trap 'exit 130' INT TERM
    start
    printf '%s' "${VIGIL_DEMO_PASSWORD:-vigil-demo-password}" | server_command user add \
      "${VIGIL_DEMO_USER:-demo}" --display-name "Demo User" --password-stdin --update >/dev/null
    echo
    echo "  Vigil is running on http://127.0.0.1:$PORT: haproxy in front of three instances"
    for n in $(seq "$INSTANCES"); do
      echo "    instance $n on 127.0.0.1:$(instance_port "$n")   log $DIR/instance-$n.log"
    done
    echo "  Redis on 127.0.0.1:$REDIS_PORT (append-only), Postgres on 127.0.0.1:$PG_PORT"
    echo "  Sign in as:  username ${VIGIL_DEMO_USER:-demo}   password ${VIGIL_DEMO_PASSWORD:-vigil-demo-password}"
    echo "  (Ctrl-C stops everything)"
    echo
    while sleep 3600; do :; done
    ;;
  *) echo "usage: $0 run|start|stop|kill N|restart N|stop-redis|start-redis|stop-postgres|start-postgres|user …" >&2; exit 2 ;;
esac
