#!/usr/bin/env bash
# HTTP benchmark of the release server on loopback, in one run: a bare JSON route (the
# public policy endpoint) against an authenticated, store-checked session-info, and
# against autosaves (PUT /api/drafts/{id}: session check, draft write, activity). They
# alternate for several rounds (a shared 2-core machine drifts by 20 % between runs); each
# round prints requests/s, p50/p99 latency and the ratios, and the medians are the result.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${VIGIL_SERVER_BIN:-target/release/server}"
port="${VIGIL_BENCH_PORT:-3300}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
base="http://127.0.0.1:${port}"

data_dir="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$data_dir"' EXIT

export VIGIL_DATA_DIR="$data_dir"
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=100000
export VIGIL_SIGNIN_LIMIT_PER_IP=100000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=100000
export LEPTOS_OUTPUT_NAME=vigil LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR="127.0.0.1:${port}" RUST_LOG=error

rounds="${BENCH_ROUNDS:-3}"
# One account for the reads, and one per round for the autosaves (each round creates its
# drafts afresh, and an account keeps at most 1000).
for user in bench $(seq -f 'writer%g' "$rounds"); do
  printf '%s' 'bench password' | "$server" user add "$user" --password-stdin >/dev/null
done
"$server" >"$data_dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null -X POST -H 'content-type: application/json' -d '{}' "$base/api/auth/policy" && break
  sleep 0.1
done

sign_in() { # username
  local cookie
  cookie="$(curl -s -D - -o /dev/null -X POST -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"bench password\"}" "$base/api/auth/login" |
    awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2; exit }')"
  [ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
  echo "$cookie"
}
cookie="$(sign_in bench)"

# wrk prints latency percentiles in us/ms/s; normalise to milliseconds.
run() { # name, path, cookie, script
  local out rps p50 p99
  out="$(COOKIE="$3" wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "${4:-bench/post.lua}" "$base$2")"
  if echo "$out" | grep -q 'Non-2xx'; then echo "$out" >&2; echo "non-2xx answers for $2" >&2; exit 1; fi
  rps="$(echo "$out" | awk '/Requests\/sec/ { print $2 }')"
  p50="$(echo "$out" | awk '$1 == "50%" { print $2 }')"
  p99="$(echo "$out" | awk '$1 == "99%" { print $2 }')"
  printf '  %-16s %8.0f req/s   p50 %8s   p99 %8s\n' "$1" "$rps" "$p50" "$p99"
  echo "$rps" >"$data_dir/$1.rps"
}

echo "Vigil HTTP benchmark: wrk -t$threads -c$connections -d$duration on loopback, $(nproc) cores, $rounds rounds"
for round in $(seq "$rounds"); do
  echo "round $round"
  run bare "/api/auth/policy" ""
  run authenticated "/api/auth/session-info" "$cookie"
  run put-draft "/api/drafts" "$(sign_in "writer$round")" bench/put-draft.lua
  awk -v a="$(cat "$data_dir/authenticated.rps")" -v b="$(cat "$data_dir/bare.rps")" \
    'BEGIN { printf "%.2f\n", a / b }' | tee -a "$data_dir/ratios" | sed 's/^/  ratio authenticated \/ bare /'
  awk -v a="$(cat "$data_dir/put-draft.rps")" -v b="$(cat "$data_dir/bare.rps")" \
    'BEGIN { printf "%.2f\n", a / b }' | tee -a "$data_dir/put-ratios" | sed 's/^/  ratio put-draft \/ bare /'
done
median() { sort -n "$1" | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
echo "median ratio authenticated / bare: $(median "$data_dir/ratios")"
echo "median ratio PUT /api/drafts/{id} / bare: $(median "$data_dir/put-ratios")"
