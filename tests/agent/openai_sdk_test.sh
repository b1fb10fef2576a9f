#!/usr/bin/env bash
# The official `openai` Python SDK (PyPI) against the real `toolgym serve-policy`
# (tests/agent/openai_sdk_test.py says what is checked), with the env of the played episode served
# by the real `toolgym serve`.
#
#   tests/agent/openai_sdk_test.sh TOOLGYM_BINARY BUILD_DIR
#
# BUILD_DIR/venv-openai is made (or reused) from Debian's /usr/bin/python3 ($TOOLGYM_PYTHON
# overrides it) with the requirement below; a marker file names it, so a changed requirement
# reinstalls, and a lock keeps concurrent runs from racing. Registered as the ctest test openai_sdk
# (tests/agent/CMakeLists.txt).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 TOOLGYM_BINARY BUILD_DIR" >&2
  exit 2
fi
toolgym=$1
build_dir=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
[[ -x "$toolgym" ]] || { echo "openai_sdk_test: $toolgym is not an executable" >&2; exit 2; }

# --- The virtual environment -------------------------------------------------------------------
vpython=$("$here/../../python/venv.sh" "$build_dir" venv-openai 'openai>=1.40,<3')
venv=$(dirname "$(dirname "$vpython")")

# --- The servers -------------------------------------------------------------------------------
work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# address NAME PID PATTERN: the URL that the server NAME (process PID) announces on stdout (group 1
# of the sed pattern), once it does.
address() {
  local name=$1 pid=$2 pattern=$3 url
  for _ in $(seq 1 200); do
    url=$(sed -nE "s|$pattern|\\1|p" "$work/$name.out" 2>/dev/null | head -n1)
    if [[ -n "$url" ]]; then
      echo "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "openai_sdk_test: $name did not announce its address; stderr:" >&2
  cat "$work/$name.err" >&2
  return 1
}

"$toolgym" serve-policy --policy expert --port 0 >"$work/policy.out" 2>"$work/policy.err" &
policy_pid=$!
pids+=("$policy_pid")
"$toolgym" serve-policy --policy random --port 0 --token sdk-test-token \
  >"$work/token.out" 2>"$work/token.err" &
pids+=($!)
token_pid=$!
"$toolgym" serve --port 0 >"$work/env.out" 2>"$work/env.err" &
pids+=($!)
env_pid=$!
policy_url=$(address policy "$policy_pid" '^Serving policy expert at (http://[^ ]+) .*')
token_url=$(address token "$token_pid" '^Serving policy random at (http://[^ ]+) .*')
env_url=$(address env "$env_pid" '^Serving toolgym envs at (http://[^/ ]+)/.*')
echo "openai_sdk_test: policy at $policy_url, env server at $env_url"

status=0
"$venv/bin/python" "$here/openai_sdk_test.py" "$policy_url" "$env_url" "$token_url" || status=$?
if [[ $status -ne 0 ]]; then
  echo "openai_sdk_test: failed (exit $status); serve-policy stderr (tail):" >&2
  tail -n 20 "$work/policy.err" >&2
  exit "$status"
fi

# --- A clean stop ------------------------------------------------------------------------------
kill -TERM "$policy_pid"
rc=0
wait "$policy_pid" || rc=$?
if [[ $rc -ne 0 ]] || ! grep -q '^serve-policy: stopped$' "$work/policy.err"; then
  echo "openai_sdk_test: serve-policy exited with $rc on SIGTERM, expected 0 and 'stopped'" >&2
  exit 1
fi
echo "openai_sdk_test: serve-policy stopped cleanly on SIGTERM"
