#!/usr/bin/env bash
# HTTP benchmark of the release server on loopback, in one run, side by side with what
# people would otherwise pick (bench/peers: a bare axum JSON route, and the usual
# tower-sessions + SQLite idle-timeout pattern that reads the user and writes the last
# activity on every request). Vigil runs in both setups: the embedded one (everything in
# SQLite) and the one several instances share (sessions and limits in Redis, the rest in
# Postgres, private instances started here, durable as in deploy/cluster.sh). For each:
# its own public JSON route (policy), an authenticated, store-checked session-info, and
# autosaves (PUT /api/drafts/{id}: session check, draft write, activity). Servers and routes
# alternate for several rounds (a shared 2-core machine drifts by 20 % between runs); each
# round prints requests/s, p50/p99 and the ratios, and the medians are the result. Then the
# latency at a fixed 1,000 requests/s (oha), which saturation runs cannot show.
set -euo pipefail
# Debian installs haproxy (and other daemons) in sbin, which an ordinary user's PATH lacks.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."

server="${VIGIL_SERVER_BIN:-target/release/server}"
peers="${VIGIL_PEERS_DIR:-target/release}"
port="${VIGIL_BENCH_PORT:-3300}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
rounds="${BENCH_ROUNDS:-3}"
rate="${BENCH_RATE:-1000}"
rate_duration="${BENCH_RATE_DURATION:-10s}"

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
export RUST_LOG="${RUST_LOG:-error}"

# CPU time the host took from this machine (steal) while the benchmark ran: on a shared
# host it can cost more than any change measured here, so every run says how much it was.
cpu_times() { awk '$1 == "cpu" { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
read -r steal_start total_start <<<"$(cpu_times)"
report_steal() {
  local steal_end total_end
  read -r steal_end total_end <<<"$(cpu_times)"
  awk -v s=$((steal_end - steal_start)) -v t=$((total_end - total_start)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "host steal during this run: %.1f s of CPU time (%.1f %% of all CPU time)\n", s / hz, t ? 100 * s / t : 0 }'
}

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
      VIGIL_DATA_DIR="$work/$setup" VIGIL_LISTEN_ADDR="127.0.0.1:$((port + n))" "$@"
  else
    VIGIL_DATA_DIR="$work/$setup" VIGIL_LISTEN_ADDR="127.0.0.1:$((port + n))" "$@"
  fi
}

for setup in "${setups[@]}"; do
  # One account for the reads, and one per round for the autosaves (each round creates its
  # drafts afresh, and an account keeps at most 1000).
  for user in bench steady $(seq -f 'writer%g' "$rounds"); do
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

# The peers, each on its own port and database.
PEER_ADDR="127.0.0.1:$((port + 5))" "$peers/bare-axum" >"$work/axum.log" 2>&1 &
pids+=($!)
PEER_ADDR="127.0.0.1:$((port + 6))" PEER_DATABASE="$work/naive-sessions.db" \
  "$peers/naive-sessions" >"$work/naive.log" 2>&1 &
pids+=($!)
base[axum]="http://127.0.0.1:$((port + 5))"
base[naive]="http://127.0.0.1:$((port + 6))"
for peer in axum naive; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "${base[$peer]}/" && break
    sleep 0.1
  done
done

sign_in() { # setup, username
  local cookie path=/api/auth/login
  [ "$1" = naive ] && path=/api/login
  curl -s -D "$work/sign-in.head" -o "$work/sign-in.body" -X POST -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"bench password\"}" "${base[$1]}$path"
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

ratio() { # numerator (setup-name), denominator (setup-name), label
  local key="${3//[^a-z0-9]/_}"
  awk -v a="$(cat "$work/$1.rps")" -v b="$(cat "$work/$2.rps")" 'BEGIN { printf "%.2f\n", a / b }' |
    tee -a "$work/$key.ratios" | sed "s|^|  ratio $3: |"
}

# The latency a steady load sees: `rate` requests/s leave on schedule whatever the answers
# take. oha for reads; bench/peers' steady for reads too (the two should agree) and for
# autosaves, whose If-Match chains no fixed-request tool can follow.
oha_read() { # setup, path, cookie
  oha --no-tui --output-format json -z "$rate_duration" -q "$rate" -c "$connections" -m POST \
    -H 'content-type: application/json' -H "cookie: $3" -d '{}' "${base[$1]}$2" | python3 -c '
import json, sys
r = json.load(sys.stdin)
bad = sum(n for c, n in r.get("statusCodeDistribution", {}).items() if not c.startswith("2"))
p = r["latencyPercentiles"]
print("p50 %6.2f ms   p99 %6.2f ms   (oha; non-2xx %d)" % (p["p50"] * 1e3, p["p99"] * 1e3, bad))
sys.exit(1 if bad else 0)
'
}
steady() { # setup, cookie, steady arguments...
  local setup=$1 cookie=$2
  shift 2
  "$peers/steady" "${base[$setup]}" "$cookie" "$rate" "${rate_duration%s}" "$@"
}

declare -A reader
for setup in "${setups[@]}" naive; do reader[$setup]="$(sign_in "$setup" bench)"; done

echo "HTTP benchmark: wrk -t$threads -c$connections -d$duration on loopback, $(nproc) cores, $rounds rounds"
echo "  axum: a bare axum JSON route;  naive: tower-sessions + SQLite, user read and activity written per request"
echo "  sqlite: Vigil, everything in SQLite;  shared: Vigil, sessions and limits in Redis (append-only), the rest in Postgres"
for round in $(seq "$rounds"); do
  echo "round $round"
  run axum bare "/api/policy" ""
  run naive authenticated "/api/session-info" "${reader[naive]}"
  for setup in "${setups[@]}"; do
    run "$setup" policy "/api/auth/policy" ""
    run "$setup" authenticated "/api/auth/session-info" "${reader[$setup]}"
    writer="$(sign_in "$setup" "writer$round")"
    run "$setup" put-draft "/api/drafts" "$writer" bench/put-draft.lua
  done
  ratio naive-authenticated axum-bare "naive authenticated / axum"
  for setup in "${setups[@]}"; do
    ratio "$setup-authenticated" "$setup-policy" "$setup authenticated / $setup policy"
    ratio "$setup-authenticated" axum-bare "$setup authenticated / axum"
    ratio "$setup-put-draft" "$setup-policy" "$setup put-draft / $setup policy"
  done
done
median() { sort -n "$work/${1//[^a-z0-9]/_}.ratios" | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
echo "medians over $rounds rounds (authenticated = session-info; put-draft = PUT /api/drafts/{id}):"
echo "  naive authenticated / bare axum        $(median "naive authenticated / axum")"
for setup in "${setups[@]}"; do
  name=$([ "$setup" = sqlite ] && echo "SQLite" || echo "Redis+Postgres")
  printf '  %-15s authenticated / own policy %s   authenticated / bare axum %s   put-draft / own policy %s\n' \
    "$name" "$(median "$setup authenticated / $setup policy")" \
    "$(median "$setup authenticated / axum")" "$(median "$setup put-draft / $setup policy")"
done

echo "latency at a steady $rate requests/s for $rate_duration:"
for setup in "${setups[@]}"; do
  printf '  %-7s %-14s %s\n' "$setup" authenticated "$(oha_read "$setup" /api/auth/session-info "${reader[$setup]}")"
  printf '  %-7s %-14s %s\n' "$setup" authenticated "$(steady "$setup" "${reader[$setup]}" read /api/auth/session-info)"
  printf '  %-7s %-14s %s\n' "$setup" put-draft "$(steady "$setup" "$(sign_in "$setup" steady)" autosave)"
done
report_steal
