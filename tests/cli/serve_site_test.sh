#!/usr/bin/env bash
# `toolgym serve-site` in a real browser: serves the example scenario's site on a free port,
# loads it in headless Chromium (Debian's chromium) and checks the page's title and an element,
# posts one action over HTTP as the page's forms do and checks the new page in Chromium again,
# and checks that a malformed request gets 400 while the server keeps serving.
#   serve_site_test.sh TOOLGYM_BINARY SOURCE_DIR
# Exit 77 (ctest: skipped) when chromium is not installed.
set -euo pipefail
toolgym=$1
root=$2

chromium_bin=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium_bin ]]; then
  echo "SKIP: chromium is not installed (scripts/packages-test.txt installs it)"
  exit 77
fi

tmp=$(mktemp -d)
server=""
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- server stderr:" >&2
  cat "$tmp/err" >&2 || true
  exit 1
}

"$toolgym" serve-site "$root/docs/examples/sites/acme_shop_task.json" --seed 1 --port 0 \
  >"$tmp/out" 2>"$tmp/err" &
server=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/out" 2>/dev/null | grep -o '[0-9]*/$' | tr -d / || true)
  [[ -n $port ]] && break
  kill -0 "$server" 2>/dev/null || fail "serve-site exited: $(cat "$tmp/out")"
  sleep 0.1
done
[[ -n $port ]] || fail "serve-site printed no address"
grep -q 'Serving "Acme Outfitters" (scenario example.acme_shop seed 1)' "$tmp/out" ||
  fail "unexpected banner: $(cat "$tmp/out")"
url="http://127.0.0.1:$port/"

dump() {
  timeout 90 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$tmp/profile" --dump-dom "$url" 2>"$tmp/chromium.err" ||
    fail "chromium failed: $(tail -5 "$tmp/chromium.err")"
}

# POST /act with form fields; prints the HTTP status (redirects are not followed).
post() {
  python3 - "$port" "$1" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/act", sys.argv[2], {"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
print(r.status, r.getheader("Location") or "", r.read().decode().strip())
PY
}

dom=$(dump)
grep -q '<title>Acme Outfitters | Home</title>' <<<"$dom" || fail "title of the start page: $dom"
grep -q '<main data-tg-page="home">' <<<"$dom" || fail "page id of the start page"
grep -q 'data-tg-id="2">Search</button>' <<<"$dom" || fail "the Search button [2]: $dom"
grep -Eq '<input name="text" type="text" value="" placeholder="shirts, sweaters..." data-tg-id="1">' \
  <<<"$dom" || fail "the search input [1]"

# The actions a person's clicks post: type into [1], click [2].
[[ $(post 'op=type&id=1&text=wool+sweater') == "303 / see /" ]] || fail "type did not answer 303"
[[ $(post 'op=click&id=2') == "303 / see /" ]] || fail "click did not answer 303"
dom=$(dump)
grep -q '<title>Acme Outfitters | Results for wool sweater</title>' <<<"$dom" ||
  fail "title of the results page: $dom"
grep -q 'data-tg-id="2">Navy wool sweater</button>' <<<"$dom" || fail "the result link [2]"
grep -q 'link \(&quot;\|"\)Navy wool sweater' <<<"$dom" || fail "the agent's view of the page"

# Malformed requests: 400 with a message, and the session is untouched.
status=$(post 'op=click&id=two')
[[ $status == "400  bad request: click needs id, a positive integer" ]] || fail "bad id: $status"
status=$(post 'op=teleport')
[[ $status == 400* ]] || fail "unknown op: $status"
status=$(post 'op=click&id=%zz')
[[ $status == "400  bad request: the form data is not valid URL encoding" ]] || fail "bad escape: $status"
dom=$(dump)
grep -q '<title>Acme Outfitters | Results for wool sweater</title>' <<<"$dom" ||
  fail "the page changed after bad requests"
echo "PASS: serve-site on port $port, checked in $($chromium_bin --version 2>/dev/null | head -1)"
