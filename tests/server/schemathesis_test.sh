#!/usr/bin/env bash
# Schemathesis (from PyPI) against the real `toolgym serve`: every generated request, valid or
# not, must get a response that docs/openapi.json documents -- never a 5xx, an undocumented
# status, a body off its schema, or a crash -- and the server must still serve and stop cleanly
# afterwards.
#
#   tests/server/schemathesis_test.sh TOOLGYM_BINARY OPENAPI_JSON BUILD_DIR
#
# BUILD_DIR/venv-api is made (or reused) from Debian's /usr/bin/python3 ($TOOLGYM_PYTHON
# overrides it) with Schemathesis 4.x; a marker file names the requirement, so a changed
# requirement reinstalls. Registered as the ctest test server_schemathesis
# (tests/server/CMakeLists.txt). Set SCHEMATHESIS_EXAMPLES to change the examples per operation.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 TOOLGYM_BINARY OPENAPI_JSON BUILD_DIR" >&2
  exit 2
fi
toolgym=$1
openapi=$2
build_dir=$(cd "$3" && pwd)
[[ -x "$toolgym" ]] || { echo "schemathesis_test: $toolgym is not an executable" >&2; exit 2; }
[[ -s "$openapi" ]] || { echo "schemathesis_test: $openapi is not a non-empty file" >&2; exit 2; }

# --- The virtual environment -------------------------------------------------------------------
# 4.x: the CLI options used below (--phases, checks by these names) are 4.x's; 3.x spelled them
# differently.
here=$(cd "$(dirname "$0")" && pwd)
vpython=$("$here/../../python/venv.sh" "$build_dir" venv-api 'schemathesis>=4.1,<5')
venv=$(dirname "$(dirname "$vpython")")
echo "schemathesis_test: $("$venv/bin/schemathesis" --version)"

# --- The server --------------------------------------------------------------------------------
work=$(mktemp -d)
server_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Few sessions and a short idle timeout: generated creations fill the server (429 is documented)
# and the idle ones are closed after a second, so later operations can create sessions again.
"$toolgym" serve --port 0 --max-sessions 8 --idle-timeout 1 --workers 4 \
  >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
address=""
for _ in $(seq 1 200); do
  line=$(grep -m1 '^Serving toolgym envs at http://' "$work/serve.out" 2>/dev/null || true)
  if [[ -n "$line" ]]; then
    address=$(sed -E 's|^Serving toolgym envs at (http://[^/ ]+)/.*|\1|' <<<"$line")
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$address" ]]; then
  echo "schemathesis_test: the server did not print its address; stderr:" >&2
  cat "$work/serve.err" >&2
  exit 1
fi
echo "schemathesis_test: server at $address (pid $server_pid)"

# GET /openapi.json is docs/openapi.json byte-for-byte, as application/json; HEAD has the same
# headers and no body.
"$vpython" - "$address" "$openapi" <<'EOF'
import sys, urllib.request
address, path = sys.argv[1], sys.argv[2]
want = open(path, "rb").read()
with urllib.request.urlopen(address + "/openapi.json", timeout=10) as r:
    got = r.read()
    ctype = r.headers.get("Content-Type")
    assert r.status == 200, r.status
assert ctype == "application/json", f"GET /openapi.json: Content-Type {ctype!r}, expected application/json"
assert got == want, f"GET /openapi.json: {len(got)} bytes differ from the {len(want)} of {path}"
req = urllib.request.Request(address + "/openapi.json", method="HEAD")
with urllib.request.urlopen(req, timeout=10) as r:
    assert r.status == 200, r.status
    assert r.read() == b"", "HEAD /openapi.json sent a body"
    assert r.headers.get("Content-Length") == str(len(want)), r.headers.get("Content-Length")
print(f"schemathesis_test: GET /openapi.json is {path} ({len(want)} bytes)")
EOF

# Generated scenario ids are random strings (404), so few sessions would exist for the operations
# on /sessions/{session_id} and the stateful phase's links. This hook turns three in four of the
# generated POST /sessions bodies into ones naming a shipped scenario.
cat >"$work/hooks.py" <<'EOF'
import schemathesis

SHIPPED = ["shell.find_by_name", "web.shop_easy"]


@schemathesis.hook
def map_body(context, body):
    op = context.operation
    if (op is not None and op.method.upper() == "POST" and op.path == "/sessions"
            and isinstance(body, dict) and isinstance(body.get("scenario"), str)
            and len(body["scenario"]) % 4 != 3):
        body = dict(body, scenario=SHIPPED[len(body["scenario"]) % 2])
    return body
EOF

# Longer stateful scenarios (default 10 steps): create -> step/reset/fork/tools -> delete chains
# then cover every link of docs/openapi.json. Read from the working directory.
cat >"$work/schemathesis.toml" <<'EOF'
[phases.stateful]
max-steps = 30
EOF

# --- Schemathesis ------------------------------------------------------------------------------
# Checks, all of them "a documented response, never a 5xx":
#   not_a_server_error            no 5xx (and no dropped connection) for any request;
#   status_code_conformance       the status is one the operation documents;
#   content_type_conformance      the Content-Type is the documented one (application/json);
#   response_schema_conformance   the body matches the documented schema of its status;
#   response_headers_conformance  documented headers (WWW-Authenticate on 401) are present;
#   negative_data_rejection       a request the schema calls invalid (wrong type, unknown field,
#                                 out-of-range seed, over 1024 batch steps...) is refused with a
#                                 4xx: the schema is as strict as the server, not looser;
#   unsupported_method            a method the document does not list for a path gets 405 with
#                                 an Allow header;
#   allow_header_conformance      that Allow header lists exactly the documented methods.
# Left out: positive_data_acceptance (a schema-valid request may rightly be refused: an unknown
# scenario id is 404, a session twice in one batch is 400, a full server is 429, a session busy
# with another generated request is 409), missing_required_header (no header is required: the
# token is optional), use_after_free / ensure_resource_availability (sessions also vanish by
# design when idle), ignored_auth (the server runs without --token here).
# A fixed --seed and no example database: the same generated data on every run; only what the
# server does differently (random session ids, which idle session was closed) can change the
# course of a run. (--generation-deterministic would make the stateful phase repeat one minimal
# request.) --workers 1: the server's 409 for a busy session stays rare and the load fits a
# 2-core machine.
checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_schema_conformance,response_headers_conformance,negative_data_rejection
checks+=,unsupported_method,allow_header_conformance
status=0
(cd "$work" && SCHEMATHESIS_HOOKS="$work/hooks.py" "$venv/bin/schemathesis" run "$address/openapi.json" \
  --checks "$checks" \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" \
  --seed 20261124 --generation-database none \
  --workers 1 \
  --request-timeout 30 \
  --no-color) || status=$?
if [[ $status -ne 0 ]]; then
  echo "schemathesis_test: schemathesis failed (exit $status); server stderr (tail):" >&2
  tail -n 40 "$work/serve.err" >&2
fi

# --- Still alive, then a clean stop -------------------------------------------------------------
"$vpython" - "$address" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/health", timeout=10) as r:
    body = json.load(r)
    assert r.status == 200 and body["status"] == "ok", (r.status, body)
print(f"schemathesis_test: the server still serves: {body}")
EOF
kill -TERM "$server_pid"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=""
if [[ $server_rc -ne 0 ]]; then
  echo "schemathesis_test: the server exited with $server_rc on SIGTERM, expected 0; stderr:" >&2
  tail -n 40 "$work/serve.err" >&2
  exit 1
fi
grep -q '^serve: stopped$' "$work/serve.err" || {
  echo "schemathesis_test: the server exited without 'serve: stopped'" >&2
  exit 1
}
echo "schemathesis_test: the server stopped cleanly on SIGTERM"
exit "$status"
