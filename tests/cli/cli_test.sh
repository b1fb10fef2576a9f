#!/usr/bin/env bash
# End-to-end checks of the toolgym CLI's scenario commands: list, show, validate (good and bad
# files, exit codes), run (trajectory file contents), play (a scripted person on stdin).
# Usage: cli_test.sh TOOLGYM_BINARY SOURCE_DIR
set -euo pipefail
tg=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# list: every shipped family, with kinds.
"$tg" list > "$tmp/list.txt"
grep -q '^shell.count_matches  *shell' "$tmp/list.txt" || fail "list lacks shell.count_matches"
grep -q 'code\.' "$tmp/list.txt" || fail "list lacks code families"
"$tg" list --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d) >= 20, len(d); assert all(set(["id","env","train","test"]) <= set(x) for x in d)'

# show: the rendered task is deterministic for a seed.
"$tg" show shell.count_matches --seed 42 > "$tmp/a.txt"
"$tg" show shell.count_matches --seed 42 > "$tmp/b.txt"
cmp -s "$tmp/a.txt" "$tmp/b.txt" || fail "show is not deterministic"
grep -q '── system ──' "$tmp/a.txt" || fail "show lacks the system message"
grep -q '<tools>' "$tmp/a.txt" || fail "show lacks the tool list"
"$tg" show no.such.scenario > /dev/null 2> "$tmp/err.txt" && fail "show of an unknown id succeeded"
grep -q 'unknown scenario "no.such.scenario"' "$tmp/err.txt" || fail "unclear unknown-id error"

# validate: the example passes (exit 0); a broken copy fails (exit 1) naming path and problem.
"$tg" validate "$src/docs/examples/fruit_count.json" | grep -q '1 scenario(s) valid, 0 error(s)' || fail "example invalid"
python3 - "$src/docs/examples/fruit_count.json" "$tmp/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["params"][1]["maximum"] = 5
d["expert"]["variants"][0][1]["args"]["answer"] = "{{ counts.0 }}"
json.dump(d, open(sys.argv[2], "w"))
PY
set +e
"$tg" validate "$tmp/bad.json" > "$tmp/val.txt"
rc=$?
set -e
[ "$rc" = 1 ] || fail "validate of a bad file exited $rc"
grep -q "/params/1/maximum: unknown argument 'maximum'" "$tmp/val.txt" || fail "no generator-argument error: $(cat "$tmp/val.txt")"
grep -q "the expert uses 'counts.0'" "$tmp/val.txt" || fail "no hidden-parameter error"

# run: expert and random trajectories, appended, one JSON line per episode.
"$tg" run shell.count_matches --policy expert --episodes 3 --out "$tmp/t.jsonl" | grep -q 'solved=3 (100.0%)' || fail "expert did not solve 3/3"
"$tg" run shell.count_matches --policy random --episodes 2 --split test --out "$tmp/t.jsonl" > /dev/null
python3 - "$tmp/t.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 5, len(lines)
eps = [json.loads(l) for l in lines]
for e in eps:
    assert e["schema"] == "toolgym.trajectory/1"
    assert e["scenario"] == "shell.count_matches"
    assert e["turns"] == len(e["steps"]) >= 1
    assert abs(e["return"] - sum(s["reward"] for s in e["steps"])) < 1e-9
    assert "params" in e["reset"]["info"]["task"]
    for s in e["steps"]:
        assert abs(s["reward"] - sum(s["info"]["reward_terms"].values())) < 1e-9
assert [e["policy"] for e in eps] == ["expert"] * 3 + ["random"] * 2
assert all(e["success"] for e in eps[:3])
assert [e["split"] for e in eps] == ["train"] * 3 + ["test"] * 2
assert eps[0]["steps"][-1]["info"]["end_reason"] == "answer_submitted"
PY

# play: a scripted person; actions end with a '.' line.
printf '%s\n' '<tool_call>{"name": "bash", "arguments": {"command": "echo played"}}</tool_call>' '.' \
  'not a tool call' '.' ':quit' | "$tg" play shell.count_matches --seed 1 > "$tmp/play.txt"
grep -q '^played$' "$tmp/play.txt" || fail "play did not run the command"
grep -q 'reward' "$tmp/play.txt" || fail "play shows no reward"
grep -q 'No tool call found' "$tmp/play.txt" || fail "play did not explain the bad action"
# index: build a corpus (rate printed), query it (ranked, highlighted), show a page; a bad
# corpus fails naming file and line, and an existing index is kept without --overwrite.
cat > "$tmp/corpus.jsonl" <<'JSONL'
{"id": "keeper", "title": "Lighthouse", "text": "The old lighthouse keeper lived on the island."}
{"id": "runner", "title": "Morning Runner", "text": "She runs every morning along the river."}
{"id": "harbour", "title": "Harbour", "text": "Boats rest in the harbour near the old lighthouse."}
JSONL
"$tg" index build "$tmp/corpus.jsonl" --out "$tmp/idx" --k1 1.2 --b 0.75 > "$tmp/build.txt"
grep -Eq '^indexed 3 documents into .* \([0-9]+ docs/s\)$' "$tmp/build.txt" || fail "index build output: $(cat "$tmp/build.txt")"
grep -q 'bm25 k1=1.2 b=0.75, language english, stopwords on' "$tmp/build.txt" || fail "index build options not reported"
"$tg" index query "$tmp/idx" "running" > "$tmp/q.txt"
head -1 "$tmp/q.txt" | grep -q '^1\. Morning Runner \[runner\] score ' || fail "index query did not stem: $(cat "$tmp/q.txt")"
grep -q '\*\*runs\*\*' "$tmp/q.txt" || fail "index query snippet lacks the highlight"
"$tg" index query "$tmp/idx" '"lighthouse keeper"' -k 5 > "$tmp/q.txt"
grep -q '^1 hit(s) of 3 documents$' "$tmp/q.txt" || fail "phrase query: $(cat "$tmp/q.txt")"
grep -q '^1\. Lighthouse \[keeper\]' "$tmp/q.txt" || fail "phrase query found the wrong document"
"$tg" index show "$tmp/idx" harbour > "$tmp/show.txt"
head -2 "$tmp/show.txt" | tr '\n' '|' | grep -q '^\[harbour\] page 1 of 1|Harbour|' || fail "index show: $(cat "$tmp/show.txt")"
"$tg" index show "$tmp/idx" nope > /dev/null 2> "$tmp/err.txt" && fail "index show of a missing id succeeded"
grep -q 'no document with id "nope"' "$tmp/err.txt" || fail "unclear missing-document error"
printf '%s\n' '{"id": "a", "text": "fine"}' '{"id": "b", "text": 3}' > "$tmp/bad.jsonl"
"$tg" index build "$tmp/bad.jsonl" --out "$tmp/idx2" > /dev/null 2> "$tmp/err.txt" && fail "index build of a bad corpus succeeded"
grep -q 'bad.jsonl:2: "text" must be a string, found number' "$tmp/err.txt" || fail "unclear corpus error: $(cat "$tmp/err.txt")"
[ ! -e "$tmp/idx2" ] || fail "a failed build left an index directory"
"$tg" index build "$tmp/corpus.jsonl" --out "$tmp/idx" > /dev/null 2> "$tmp/err.txt" && fail "index build over an existing index succeeded"
grep -q 'already exists' "$tmp/err.txt" || fail "unclear existing-index error"
"$tg" index build "$tmp/corpus.jsonl" --out "$tmp/idx" --overwrite --language none > /dev/null
"$tg" index query "$tmp/idx" "running" | grep -q '^0 hit(s) of 3 documents$' || fail "--language none still stems"
"$tg" index query "$tmp/nowhere" x > /dev/null 2> "$tmp/err.txt" && fail "index query of a missing index succeeded"
grep -q 'no index at' "$tmp/err.txt" || fail "unclear missing-index error"

echo "cli_test: all checks passed"
