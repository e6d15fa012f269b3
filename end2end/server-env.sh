# The settings every server of the end-to-end suite runs with (sourced by start-server.sh
# and start-cluster.sh): short timeouts, and the test clock hook so tests can move server
# time with the browser's.
export VIGIL_IDLE_TIMEOUT="${VIGIL_IDLE_TIMEOUT:-2m}"
export VIGIL_WARNING_BEFORE="${VIGIL_WARNING_BEFORE:-1m}"
export VIGIL_HEARTBEAT_INTERVAL="${VIGIL_HEARTBEAT_INTERVAL:-10s}"
export VIGIL_ABSOLUTE_TIMEOUT="${VIGIL_ABSOLUTE_TIMEOUT:-1h}"
export VIGIL_TEST_CLOCK=1
# Administrators time out sooner; sensitive actions need a sign-in from the last 30 s.
export VIGIL_ADMIN_IDLE_TIMEOUT="${VIGIL_ADMIN_IDLE_TIMEOUT:-90s}"
export VIGIL_REAUTH_WITHIN="${VIGIL_REAUTH_WITHIN:-30s}"
# The suite signs in far more often than a person would.
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT=10000
export VIGIL_SIGNIN_LIMIT_PER_IP=10000
export VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY=100000
export RUST_LOG="${RUST_LOG:-warn}"

# The suite's accounts, through the server's command line ("$@" runs it): Lin's password
# is the one the password test changes; root is an administrator.
add_accounts() {
  printf '%s' 'correct horse battery' | "$@" user add ada --display-name "Ada Lovelace" --password-stdin
  printf '%s' 'another staple battery' | "$@" user add grace --display-name "Grace Hopper" --password-stdin
  printf '%s' 'a lantern by the door' | "$@" user add lin --display-name "Lin Mei" --password-stdin
  printf '%s' 'an operator passphrase' | "$@" user add root --display-name "Root Operator" --role admin --password-stdin
}
