#!/usr/bin/env bash
# HTTP benchmark of the release server on loopback, in one run, for both setups side by
# side: the embedded one (everything in SQLite) and the one several instances share
# (sessions and limits in Redis, the rest in Postgres, both private instances started here,
# durable as in deploy/cluster.sh). Against each server's own bare JSON route (the public
# policy endpoint): an authenticated, store-checked session-info, and autosaves
# (PUT /api/drafts/{id}: session check, draft write, activity). Setups and routes alternate
# for several rounds (a shared 2-core machine drifts by 20 % between runs); each round
# prints requests/s, p50/p99 latency and the ratios, and the medians are the result.
set -euo pipefail
# Debian installs haproxy (and other daemons) in sbin, which an ordinary user's PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

server="${VIGIL_SERVER_BIN:-target/release/server}"
port="${VIGIL_BENCH_PORT:-3300}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
rounds="${BENCH_ROUNDS:-3}"

work="$(mktemp -d)"
stores() {
  VIGIL_SERVICES_DIR="$work/stores" VIGIL_SERVICES_PG_PORT=$((port + 2400)) \
    VIGIL_SERVICES_REDIS_PORT=$((port + 3400)) VIGIL_SERVICES_DURABLE=1 deploy/services.sh "$@"
}
cleanup() {
  for pid in "${pids[@]:-}"; do kill "$pid" 2>/dev/null || true; done
  stores stop >/dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
pids=()
trap cleanup EXIT
trap 'exit 143' INT TERM

export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=100000
export VIGIL_SIGNIN_LIMIT_PER_IP=100000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=100000
export LEPTOS_OUTPUT_NAME=vigil LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg RUST_LOG="${RUST_LOG:-error}"

eval "$(stores start | sed 's/^/export /')"
setups=(sqlite shared)
declare -A base

# Runs the server (or its command line, "$@") with one setup's settings.
with_setup() { # setup, command...
  local setup=$1 n
  shift
  n=$([ "$setup" = sqlite ] && echo 0 || echo 1)
  mkdir -p "$work/$setup"
  if [ "$setup" = shared ]; then
    VIGIL_DATABASE_URL="$VIGIL_TEST_POSTGRES/postgres" VIGIL_SESSION_STORE="$VIGIL_TEST_REDIS" \
      VIGIL_DATA_DIR="$work/$setup" LEPTOS_SITE_ADDR="127.0.0.1:$((port + n))" "$@"
  else
    VIGIL_DATA_DIR="$work/$setup" LEPTOS_SITE_ADDR="127.0.0.1:$((port + n))" "$@"
  fi
}

for setup in "${setups[@]}"; do
  # One account for the reads, and one per round for the autosaves (each round creates its
  # drafts afresh, and an account keeps at most 1000).
  for user in bench $(seq -f 'writer%g' "$rounds"); do
    printf '%s' 'bench password' | with_setup "$setup" "$server" user add "$user" --password-stdin >/dev/null
  done
  with_setup "$setup" exec "$server" >"$work/$setup.log" 2>&1 &
  pids+=($!)
  n=$([ "$setup" = sqlite ] && echo 0 || echo 1)
  base[$setup]="http://127.0.0.1:$((port + n))"
  for _ in $(seq 100); do
    curl -sf -o /dev/null -X POST -H 'content-type: application/json' -d '{}' \
      "${base[$setup]}/api/auth/policy" && break
    sleep 0.1
  done
done

sign_in() { # setup, username
  local cookie
  curl -s -D "$work/sign-in.head" -o "$work/sign-in.body" -X POST -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"bench password\"}" "${base[$1]}/api/auth/login"
  cookie="$(awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2; exit }' "$work/sign-in.head")"
  if [ -z "$cookie" ]; then
    echo "sign-in of $2 failed on $1:" >&2
    head -n 1 "$work/sign-in.head" >&2
    cat "$work/sign-in.body" >&2
    echo >&2
    exit 1
  fi
  echo "$cookie"
}

# wrk prints latency percentiles in us/ms/s; they are shown as wrk prints them.
run() { # setup, name, path, cookie, script
  local out rps p50 p99
  out="$(COOKIE="$4" wrk -t"$threads" -c"$connections" -d"$duration" --latency \
    -s "${5:-bench/post.lua}" "${base[$1]}$3")"
  if echo "$out" | grep -q 'Non-2xx'; then echo "$out" >&2; echo "non-2xx answers for $3" >&2; exit 1; fi
  rps="$(echo "$out" | awk '/Requests\/sec/ { print $2 }')"
  p50="$(echo "$out" | awk '$1 == "50%" { print $2 }')"
  p99="$(echo "$out" | awk '$1 == "99%" { print $2 }')"
  printf '  %-7s %-14s %8.0f req/s   p50 %8s   p99 %8s\n' "$1" "$2" "$rps" "$p50" "$p99"
  echo "$rps" >"$work/$1-$2.rps"
}

ratio() { # setup, name
  awk -v a="$(cat "$work/$1-$2.rps")" -v b="$(cat "$work/$1-bare.rps")" 'BEGIN { printf "%.2f\n", a / b }' |
    tee -a "$work/$1-$2.ratios" | sed "s/^/  ratio $1 $2 \/ bare /"
}

declare -A reader
for setup in "${setups[@]}"; do reader[$setup]="$(sign_in "$setup" bench)"; done

echo "Vigil HTTP benchmark: wrk -t$threads -c$connections -d$duration on loopback, $(nproc) cores, $rounds rounds"
echo "  sqlite: everything in SQLite;  shared: sessions and limits in Redis (append-only), the rest in Postgres"
for round in $(seq "$rounds"); do
  echo "round $round"
  for setup in "${setups[@]}"; do
    run "$setup" bare "/api/auth/policy" ""
    run "$setup" authenticated "/api/auth/session-info" "${reader[$setup]}"
    writer="$(sign_in "$setup" "writer$round")"
    run "$setup" put-draft "/api/drafts" "$writer" bench/put-draft.lua
    ratio "$setup" authenticated
    ratio "$setup" put-draft
  done
done
median() { sort -n "$1" | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
echo "medians over $rounds rounds:"
echo "  SQLite:          authenticated / bare $(median "$work/sqlite-authenticated.ratios")   PUT /api/drafts/{id} / bare $(median "$work/sqlite-put-draft.ratios")"
echo "  Redis+Postgres:  authenticated / bare $(median "$work/shared-authenticated.ratios")   PUT /api/drafts/{id} / bare $(median "$work/shared-put-draft.ratios")"
