#!/usr/bin/env bash
# toolgym eval --policy openai:MODEL against a real `toolgym serve-policy` on loopback: the expert
# over the OpenAI chat-completions protocol solves every episode, token usage is recorded, and a
# spec without a model or a bad flag is a clear error.
# Usage: eval_openai_test.sh TOOLGYM_BIN
set -euo pipefail
bin=$1
tmp=$(mktemp -d)
server=""
cleanup() {
  [[ -n $server ]] && kill -TERM "$server" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$bin" serve-policy --policy expert --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's#^Serving policy expert at http://127.0.0.1:\([0-9]*\)/v1.*#\1#p' "$tmp/server.out")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || fail "serve-policy did not start: $(cat "$tmp/server.err")"

"$bin" eval --policy openai:expert --base-url "http://127.0.0.1:$port/v1" --send-metadata \
  --scenarios web.forms shell.count_matches --episodes 3 --threads 2 --out "$tmp/run" \
  --no-plots --quiet >"$tmp/eval.out" 2>&1 || fail "eval failed: $(cat "$tmp/eval.out")"

python3 - "$tmp/run" <<'PY'
import json, sys
run = sys.argv[1]
summary = json.load(open(f"{run}/summary.json"))
overall = summary["groups"]["overall"]
assert overall["episodes"] == 6, overall["episodes"]
assert overall["successes"] == 6, overall["successes"]
assert abs(overall["tool_efficiency"] - 1.0) < 1e-12, overall["tool_efficiency"]
manifest = json.load(open(f"{run}/manifest.json"))
assert manifest["policy"] == "openai:expert", manifest["policy"]
lines = [json.loads(l) for l in open(f"{run}/trajectories.jsonl")]
assert len(lines) == 6
for t in lines:
    u = t["usage"]
    # serve-policy reports usage; one completion per action.
    assert u["calls"] == len(t["steps"]), u
    assert u["completion_tokens"] > 0 and u["prompt_tokens"] > 0, u
    assert t["compute"]["policy_calls"] == u["calls"], t["compute"]
print("eval over serve-policy: 6/6 solved, usage recorded")
PY

# Errors name what is wrong; the server keeps serving.
if "$bin" eval --policy openai: --scenarios web.forms --out "$tmp/bad" --quiet 2>"$tmp/err1"; then
  fail "openai: without a model was accepted"
fi
grep -q 'needs a model: openai:MODEL' "$tmp/err1" || fail "unexpected error: $(cat "$tmp/err1")"
if "$bin" eval --policy openai:expert --base-url "ftp://x/v1" --scenarios web.forms \
  --out "$tmp/bad2" --quiet 2>"$tmp/err2"; then
  fail "an ftp base URL was accepted"
fi
grep -qi 'base_url\|base url' "$tmp/err2" || fail "unexpected error: $(cat "$tmp/err2")"
kill -0 "$server" || fail "serve-policy died"
echo "PASS"
