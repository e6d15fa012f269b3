#!/usr/bin/env bash
# Private Redis and Postgres for the tests that need shared stores: their own data under
# target/services, their own ports on 127.0.0.1, nothing kept between runs.
#
#   server/tests/services.sh start   # prints the environment the tests read
#   server/tests/services.sh stop
#
# Postgres refuses to run as root, so as root it runs as the `postgres` user Debian's
# package creates.
set -euo pipefail

DIR=${VIGIL_SERVICES_DIR:-$(pwd)/target/services}
PG_PORT=${VIGIL_TEST_PG_PORT:-54329}
REDIS_PORT=${VIGIL_TEST_REDIS_PORT:-63799}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [ -f "$DIR/pg/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DIR/redis.pid" ]; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 \
      || kill "$(cat "$DIR/redis.pid")" 2>/dev/null || true
    rm -f "$DIR/redis.pid"
  fi
}

start() {
  [ -n "$PG_BIN" ] || { echo "Postgres is not installed (make services installs it)" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
  stop
  rm -rf "$DIR"
  mkdir -p "$DIR/pg"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --dir "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres "$DIR/pg"; fi
  as_postgres "$PG_BIN/initdb" -D "$DIR/pg" -U vigil -A trust --no-sync >"$DIR/initdb.log"
  # Durability is not under test here, speed is: no fsync.
  as_postgres "$PG_BIN/pg_ctl" -D "$DIR/pg" -l "$DIR/pg/server.log" -w -o \
    "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" start >/dev/null
  for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping | grep -q PONG
  echo "VIGIL_TEST_POSTGRES=postgres://vigil@127.0.0.1:$PG_PORT"
  echo "VIGIL_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
