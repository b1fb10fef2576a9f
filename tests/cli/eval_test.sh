#!/usr/bin/env bash
# End-to-end checks of `toolgym eval` and `toolgym compare`: the run directory's files, the
# report's numbers, resume after a kill (a cut last line) giving an uninterrupted run's summary,
# refusals with clear messages, plots (when Debian's python3 has matplotlib), and compare.
# Usage: eval_test.sh TOOLGYM_BINARY SOURCE_DIR
set -euo pipefail
tg=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# The expert on two families of two kinds: every file, 100% success and efficiency 1.0.
"$tg" eval --policy expert --scenarios shell.count_matches search.hop1 --episodes 2 --threads 2 \
  --out "$tmp/expert" --quiet > "$tmp/expert.txt"
grep -q '^expert: 4 episodes, success 100.0%' "$tmp/expert.txt" || fail "expert line: $(cat "$tmp/expert.txt")"
for f in manifest.json trajectories.jsonl summary.json report.md; do
  [ -s "$tmp/expert/$f" ] || fail "expert run lacks $f"
done
[ "$(wc -l < "$tmp/expert/trajectories.jsonl")" = 4 ] || fail "expected 4 trajectory lines"
grep -q '^| \*\*overall\*\* | 4 | 100.0% |' "$tmp/expert/report.md" || fail "report overall row"
grep -q '^| shell.count_matches | 2 | 100.0% |' "$tmp/expert/report.md" || fail "report family row"
"$py" - "$tmp/expert/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
g = s["groups"]
assert g["overall"]["episodes"] == 4 and g["overall"]["successes"] == 4, g["overall"]
for k in ("scenario/shell.count_matches", "scenario/search.hop1"):
    assert g[k]["tool_efficiency"] == 1.0, (k, g[k]["tool_efficiency"])
assert s["manifest"]["policy"] == "expert" and s["manifest"]["split"] == "test"
assert s["run"]["episodes_per_s"] > 0
PY

# Plots: drawn when Debian's python3 has matplotlib, else a plain message says why.
if "$py" -c 'import matplotlib' 2> /dev/null; then
  for p in success_by_family pass_at_k success_vs_compute tool_calls_vs_success; do
    head -c 8 "$tmp/expert/$p.png" | od -An -c | grep -q 'P   N   G' || fail "$p.png is not a PNG"
    grep -q "($p.png)" "$tmp/expert/report.md" || fail "report does not show $p.png"
  done
fi

# An existing run is never overwritten.
set +e
"$tg" eval --policy expert --scenarios shell.count_matches search.hop1 --episodes 2 \
  --out "$tmp/expert" --quiet > /dev/null 2> "$tmp/err.txt"
rc=$?
set -e
[ "$rc" = 2 ] || fail "eval into an existing run exited $rc"
grep -q 'already holds an evaluation run; resume it (--resume)' "$tmp/err.txt" || fail "unclear: $(cat "$tmp/err.txt")"

# Random, uninterrupted.
args=(--policy random --scenarios shell.find_by_name web.forms --episodes 3 --samples 2 --quiet --no-plots)
"$tg" eval "${args[@]}" --threads 2 --out "$tmp/full" > /dev/null
# Random, killed: stop after 4 episodes, cut the last line in half as a kill mid-write would.
"$tg" eval "${args[@]}" --threads 1 --out "$tmp/part" --stop-after 4 | grep -q 'stopped after 4 episodes' || fail "stop-after"
[ ! -e "$tmp/part/summary.json" ] || fail "a stopped run wrote a summary"
last=$(tail -n 1 "$tmp/part/trajectories.jsonl")
size=$(stat -c %s "$tmp/part/trajectories.jsonl")
truncate -s $((size - ${#last} / 2 - 1)) "$tmp/part/trajectories.jsonl"
# A resume with other options is refused, naming the field.
set +e
"$tg" eval --policy random --scenarios shell.find_by_name web.forms --episodes 3 --samples 3 \
  --quiet --no-plots --out "$tmp/part" --resume > /dev/null 2> "$tmp/err.txt"
rc=$?
set -e
[ "$rc" = 2 ] || fail "mismatched resume exited $rc"
grep -q 'has samples = 2, this run has 3' "$tmp/err.txt" || fail "unclear mismatch: $(cat "$tmp/err.txt")"
"$tg" eval "${args[@]}" --threads 2 --out "$tmp/part" --resume > /dev/null
[ "$(wc -l < "$tmp/part/trajectories.jsonl")" = 12 ] || fail "resume left $(wc -l < "$tmp/part/trajectories.jsonl") lines, expected 12"
"$py" - "$tmp/full/summary.json" "$tmp/part/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["groups"] == b["groups"], "resumed summary differs from the uninterrupted one"
assert b["run"]["episodes_resumed"] == 3 and b["run"]["episodes_run"] == 9, b["run"]
assert a["groups"]["overall"]["success_rate"] < 0.5
PY

# A real kill (SIGKILL mid-run) and a resume give the uninterrupted run's summary too.
kargs=(--policy random --scenarios shell --episodes 4 --quiet --no-plots --threads 2)
"$tg" eval "${kargs[@]}" --out "$tmp/kfull" > /dev/null
"$tg" eval "${kargs[@]}" --out "$tmp/killed" > /dev/null &
pid=$!
sleep 1
kill -KILL "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
if [ -e "$tmp/killed/summary.json" ]; then
  echo "note: the run finished before the kill; the kill check is vacuous on this machine" >&2
fi
"$tg" eval "${kargs[@]}" --out "$tmp/killed" --resume > /dev/null
"$py" - "$tmp/kfull/summary.json" "$tmp/killed/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["groups"] == b["groups"], "summary after kill + resume differs"
PY

# compare: the expert against random, as Markdown and as JSON.
"$tg" eval --policy random --scenarios shell.count_matches search.hop1 --episodes 2 --threads 2 \
  --out "$tmp/random" --quiet --no-plots > /dev/null
"$tg" compare "$tmp/expert" "$tmp/random" > "$tmp/cmp.md"
grep -q '^| \*\*overall\*\* | 100.0% (51.0%–100.0%, n=4) | 0.0% (0.0%–49.0%, n=4) | -100.0 pp |' "$tmp/cmp.md" || fail "compare overall row: $(cat "$tmp/cmp.md")"
"$tg" compare "$tmp/expert" "$tmp/random" --json | "$py" -c '
import json, sys
c = json.load(sys.stdin)
row = [r for r in c["groups"] if r["group"] == "overall"][0]
assert row["difference"] == -1.0 and row["significant"] is True, row
assert c["a"]["policy"] == "expert" and c["b"]["policy"] == "random"'
set +e
"$tg" compare "$tmp/expert" "$tmp/nothing" > /dev/null 2> "$tmp/err.txt"
rc=$?
set -e
[ "$rc" = 2 ] || fail "compare of a missing run exited $rc"
grep -q 'is not an evaluation run directory' "$tmp/err.txt" || fail "unclear: $(cat "$tmp/err.txt")"
# Strategies: best-of-N on the noisy expert and budget forcing on the thinker, then the
# strategies' success-against-compute panels and table from the runs; a bad spec is refused.
for s in plain best-of-n:3; do
  "$tg" eval --policy noisy-expert:0.4 --strategy "$s" --scenarios search.hop1 web.info \
    --episodes 3 --threads 2 --out "$tmp/noisy-${s%%:*}" --quiet --no-plots > /dev/null
done
"$tg" eval --policy thinker --strategy budget:waits=1 --scenarios search.hop1 --episodes 2 \
  --out "$tmp/thinker-wait" --quiet --no-plots > "$tmp/thinker.txt"
grep -q '^thinker + budget:waits=1: 2 episodes' "$tmp/thinker.txt" || fail "thinker line: $(cat "$tmp/thinker.txt")"
"$py" - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
plain = json.load(open(d + "/noisy-plain/summary.json"))
bon = json.load(open(d + "/noisy-best-of-n/summary.json"))
assert bon["manifest"]["strategy"] == "best-of-n:n=3,scorer=verifier", bon["manifest"]["strategy"]
assert bon["manifest"]["strategy_params"] == {"n": 3, "scorer": "verifier"}
assert bon["groups"]["overall"]["compute"]["env_forks"] == 3.0
assert bon["groups"]["overall"]["success_rate"] >= plain["groups"]["overall"]["success_rate"]
line = json.loads(open(d + "/noisy-best-of-n/trajectories.jsonl").readline())
assert len(line["strategy"]["candidates"]) == 3 and line["compute"]["env_forks"] == 3, line["strategy"]
t = json.load(open(d + "/thinker-wait/summary.json"))
assert t["groups"]["overall"]["compute"]["completion_tokens"] > 0
PY
if "$py" -c 'import matplotlib' 2> /dev/null; then
  "$py" "$src/scripts/plot_eval.py" --quiet --out "$tmp/study" --plots success_vs_compute \
    --table "$tmp/study/table.md" "$tmp/noisy-plain" "$tmp/noisy-best-of-n" "$tmp/thinker-wait"
  head -c 8 "$tmp/study/success_vs_compute.png" | od -An -c | grep -q 'P   N   G' || fail "study plot"
  grep -q '^| noisy-expert:0.4 + best-of-n N=3 | 6 |.*| a candidate passed in [0-9.]*%, the chosen one in [0-9.]*% |$' \
    "$tmp/study/table.md" || fail "study table: $(cat "$tmp/study/table.md")"
fi
"$tg" compare "$tmp/noisy-plain" "$tmp/noisy-best-of-n" > "$tmp/cmp-strategy.md"
grep -q '| policy calls A / B |$' "$tmp/cmp-strategy.md" || fail "compare lacks policy calls: $(head -12 "$tmp/cmp-strategy.md")"
grep -q 'with best-of-n:n=3,scorer=verifier' "$tmp/cmp-strategy.md" || fail "compare does not name B's strategy"
if "$tg" eval --policy expert --strategy best-of-n:0 --scenarios search.hop1 --out "$tmp/bad" \
  2> "$tmp/bad.txt"; then fail "a bad strategy was accepted"; fi
grep -q -- '--strategy: strategy "best-of-n:0": n must be an integer in \[1, 1024\]' "$tmp/bad.txt" ||
  fail "bad strategy message: $(cat "$tmp/bad.txt")"
[ ! -e "$tmp/bad/manifest.json" ] || fail "a refused run wrote a manifest"
"$tg" --version | grep -Eq '^toolgym [0-9]+\.[0-9]+\.[0-9]+$' || fail "toolgym --version: $("$tg" --version)"

echo "eval_test: all checks passed"
