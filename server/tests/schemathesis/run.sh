#!/usr/bin/env bash
# Schemathesis against a fresh server (make test-api): the OpenAPI document the server
# serves drives every phase (examples, coverage, fuzzing, stateful) with every check, once
# signed in as an API client (bearer token) and once as a browser (session cookie), so the
# CSRF and cookie paths are exercised too. 0 failures or the run fails.
#   run.sh [EXAMPLES]   (per operation and phase; default 25)
set -euo pipefail
cd "$(dirname "$0")/../../.."
examples="${1:-${ST_EXAMPLES:-25}}"
port="${VIGIL_ST_PORT:-3350}"
server="${VIGIL_SERVER_BIN:-target/debug/server}"
st="$PWD/.venv/bin/st"
out="$PWD/target/schemathesis"
work="$(mktemp -d)"
pid=
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# A client that tries thousands of wrong inputs is not someone guessing passwords.
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=1000000 VIGIL_SIGNIN_LIMIT_PER_IP=1000000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=1000000
export VIGIL_DATA_DIR="$work" VIGIL_LISTEN_ADDR="127.0.0.1:$port" RUST_LOG="${RUST_LOG:-warn}"
export VIGIL_ST_BASE="http://127.0.0.1:$port" VIGIL_ST_USER=schemathesis
export VIGIL_ST_PASSWORD="an api test passphrase"
printf '%s' "$VIGIL_ST_PASSWORD" | "$server" user add "$VIGIL_ST_USER" --password-stdin >/dev/null
"$server" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null "$VIGIL_ST_BASE/health/live" && break
  sleep 0.1
done

status=0
for mode in bearer cookie; do
  echo "== schemathesis, signed in with a $mode, $examples examples per operation and phase"
  mkdir -p "$out/$mode"
  (cd "$work" && VIGIL_ST_AUTH=$mode SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$OLDPWD/server/tests/schemathesis" \
    "$st" --config-file "$OLDPWD/server/tests/schemathesis/schemathesis.toml" run "$VIGIL_ST_BASE/api/openapi.json" \
      --phases examples,coverage,fuzzing,stateful --checks all \
      --max-examples "$examples" --seed 20261202 --generation-database none --workers 1 \
      --request-timeout 10 --no-color \
      --report junit --report-junit-path "$out/$mode/junit.xml") || status=$?
done
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 panicked "$work/server.log" >&2
  status=1
fi
exit "$status"
