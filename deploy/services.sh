#!/usr/bin/env bash
# Private Redis and Postgres on 127.0.0.1, under a directory of their own, from Debian's
# packages: for the tests that need shared stores, and for deploy/cluster.sh.
#
#   deploy/services.sh start   # prints the environment the tests read
#   deploy/services.sh stop
#   deploy/services.sh stop-redis | start-redis | stop-postgres | start-postgres
#                              # one engine down and back on its data (fault injection)
#
# VIGIL_SERVICES_DIR (target/services), VIGIL_SERVICES_PG_PORT (54329) and
# VIGIL_SERVICES_REDIS_PORT (63799) choose where; VIGIL_SERVICES_DURABLE=1 keeps Redis'
# append-only file and Postgres' fsync on (the cluster), otherwise both favour speed (tests).
# VIGIL_SERVICES_REDIS_CLUSTER=1 also starts a three-node Redis Cluster on the three ports
# after VIGIL_SERVICES_REDIS_CLUSTER_PORT (46380), with their bus ports 10000 above.
# Every start begins from empty data. Postgres refuses to run as root, so as root it runs as
# the `postgres` user Debian's package creates.
set -euo pipefail
# Debian installs haproxy (and other daemons) in sbin, which an ordinary user's PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"

DIR=${VIGIL_SERVICES_DIR:-$(pwd)/target/services}
PG_PORT=${VIGIL_SERVICES_PG_PORT:-54329}
REDIS_PORT=${VIGIL_SERVICES_REDIS_PORT:-63799}
DURABLE=${VIGIL_SERVICES_DURABLE:-0}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Postgres' data: beside the rest, unless (as root) the `postgres` user cannot reach that
# directory, as under a private home; then in a directory of its own under /tmp.
pg_dir() {
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$(dirname "$DIR")" 2>/dev/null; then
    echo "$DIR/pg"
  else
    echo "/tmp/vigil-pg-$(printf '%s' "$DIR" | sha256sum | cut -c1-12)"
  fi
}

PGDIR=$(pg_dir)
CLUSTER=${VIGIL_SERVICES_REDIS_CLUSTER:-0}
CLUSTER_BASE=${VIGIL_SERVICES_REDIS_CLUSTER_PORT:-46380}
CLUSTER_PORTS="$((CLUSTER_BASE + 1)) $((CLUSTER_BASE + 2)) $((CLUSTER_BASE + 3))"

stop_cluster() {
  for port in $CLUSTER_PORTS; do
    if [ -f "$DIR/cluster-$port/redis.pid" ]; then
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 \
        || kill "$(cat "$DIR/cluster-$port/redis.pid")" 2>/dev/null || true
      rm -f "$DIR/cluster-$port/redis.pid"
    fi
  done
}

start_cluster() {
  local nodes=()
  for port in $CLUSTER_PORTS; do
    mkdir -p "$DIR/cluster-$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file "$DIR/cluster-$port/nodes.conf" \
      --daemonize yes --pidfile "$DIR/cluster-$port/redis.pid" \
      --logfile "$DIR/cluster-$port/redis.log" --dir "$DIR/cluster-$port"
    nodes+=("127.0.0.1:$port")
  done
  for port in $CLUSTER_PORTS; do wait_for_redis "$port"; done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/cluster.log"
  for port in $CLUSTER_PORTS; do
    for _ in $(seq 100); do
      redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' && break
      sleep 0.1
    done
    redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok'
  done
}

wait_for_redis() {
  for _ in $(seq 100); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  redis-cli -p "$1" ping | grep -q PONG
}

stop_postgres() {
  if [ -f "$PGDIR/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# Durable: SHUTDOWN writes the append-only file out first; otherwise nothing is kept.
stop_redis() {
  local how=nosave
  [ "$DURABLE" = 1 ] && how=""
  if [ -f "$DIR/redis.pid" ]; then
    redis-cli -p "$REDIS_PORT" shutdown $how >/dev/null 2>&1 \
      || kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    for _ in $(seq 100); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || break
      sleep 0.05
    done
    rm -f "$DIR/redis.pid"
  fi
}

stop() {
  stop_cluster
  stop_postgres
  stop_redis
}

start_redis() {
  local durability=(--save '' --appendonly no)
  if [ "$DURABLE" = 1 ]; then
    durability=(--save '' --appendonly yes --appendfsync everysec)
  fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 "${durability[@]}" \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --dir "$DIR"
  wait_for_redis "$REDIS_PORT"
}

start_postgres() {
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "$DURABLE" = 1 ] && durability=""
  as_postgres "$PG_BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -o \
    "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=400 \
     $durability" start >/dev/null
}

start() {
  [ -n "$PG_BIN" ] || { echo "Postgres is not installed (make stores installs it)" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR"
  rm -rf "$PGDIR"
  mkdir -p "$PGDIR"
  start_redis
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; fi
  as_postgres "$PG_BIN/initdb" -D "$PGDIR" -U vigil -A trust --no-sync >"$DIR/initdb.log"
  start_postgres
  echo "VIGIL_TEST_POSTGRES=postgres://vigil@127.0.0.1:$PG_PORT"
  echo "VIGIL_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT"
  if [ "$CLUSTER" = 1 ]; then
    start_cluster
    local urls
    urls=$(for port in $CLUSTER_PORTS; do printf 'redis://127.0.0.1:%s,' "$port"; done)
    echo "VIGIL_TEST_REDIS_CLUSTER=${urls%,}"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  stop-redis) stop_redis ;;
  start-redis) start_redis ;;
  stop-postgres) stop_postgres ;;
  start-postgres) start_postgres ;;
  *) echo "usage: $0 start|stop|stop-redis|start-redis|stop-postgres|start-postgres" >&2; exit 2 ;;
esac
