#!/usr/bin/env bash
# The monitor from the command line: loss.png and the runs in model.json, a
# resumed run's page (two runs, the earlier history then one row per
# iteration), dsengine monitor on a saved model following a later session, a
# port in use or a bad address stopping train and the main job before any
# work, all on loopback.
# usage: monitor_cli_test.sh DSENGINE SYNTH_FACES REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
root=$3
scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"
py=/usr/bin/python3

"$synth" --identity 0 --count 24 --size 256 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 24 --size 256 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
common=(--config "$root/tests/data/train_micro.json" --faces A="$scratch/A" --faces B="$scratch/B" --batch 8)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null; done; }
trap cleanup EXIT

# waits for "monitor: URL" in a log; sets url
wait_url() {
  url=
  for _ in $(seq 1 200); do
    url=$(sed -n 's/^monitor: //p' "$1" | head -n 1)
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  bad "no monitor address in $1: $(cat "$1")"
  return 1
}
# json URL PYTHON-EXPRESSION-OF-d: prints the expression's value
json() { "$py" -c 'import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
print(eval(sys.argv[2]))' "$1" "$2"; }

# a first session: loss.png beside preview.png, one run in model.json
run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 30 --save-every 10 --preview-every 10
expect_rc 0 "first session"
"$py" - "$scratch/m" <<'PY' && ok || bad "loss.png / runs: see above"
import json, sys
d = sys.argv[1]
assert open(d + "/loss.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
runs = json.load(open(d + "/model.json"))["state"]["runs"]
assert [(r["first"], r["last"], r["batch"]) for r in runs] == [(0, 30, 8)], runs
PY

# a resumed session, watched live
"$bin" train "${common[@]}" --model "$scratch/m" --iterations 100000 --save-every 10 --preview-every 10 \
  --monitor 127.0.0.1:0 >"$scratch/resume.log" 2>&1 &
pids+=($!)
if wait_url "$scratch/resume.log"; then
  for _ in $(seq 1 200); do
    [ "$(json "${url}status.json" 'd["iteration"] >= 45')" = True ] && break
    sleep 0.1
  done
  json "${url}status.json" '[(r["first"], r["batch"]) for r in d["runs"]]' | grep -qx "\[(0, 8), (30, 8)\]" && ok ||
    bad "two runs: $(json "${url}status.json" 'd["runs"]')"
  "$py" - "$url" <<'PY' && ok || bad "resumed loss.json: see above"
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "loss.json", timeout=10))
rows = d["rows"]
assert d["identities"] == ["A", "B"] and d["columns"][:2] == ["iteration", "seconds"], d
# the first session's saves (10, 20, 30) without times, then every iteration from 31 with one
assert [r[0] for r in rows[:3]] == [10, 20, 30] and all(r[1] is None for r in rows[:3]), rows[:4]
assert [r[0] for r in rows[3:]] == list(range(31, 31 + len(rows) - 3)), rows[3:6]
assert all(r[1] is not None and r[2] > 0 and r[3] > 0 for r in rows[3:]), rows[3:6]
PY
fi
kill -INT "${pids[-1]}"
wait "${pids[-1]}"
rc=$?
[ "$rc" = 130 ] && ok || bad "resumed session exit $rc"

# dsengine monitor on the saved model, following a later session
"$bin" monitor --model "$scratch/m" --port 0 >"$scratch/monitor.log" 2>&1 &
mon=$!
pids+=($mon)
if wait_url "$scratch/monitor.log"; then
  saved=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$scratch/m/model.json")
  for _ in $(seq 1 100); do
    [ "$(json "${url}status.json" 'd["state"]')" = saved ] && break
    sleep 0.1
  done
  [ "$(json "${url}status.json" '(d["state"], d["iteration"], len(d["runs"]), d["preview"] is not None)')" = "('saved', $saved, 2, True)" ] && ok ||
    bad "monitor status: $(json "${url}status.json" 'd')"
  "$py" -c 'import sys, urllib.request; assert urllib.request.urlopen(sys.argv[1] + "preview.png").read(8) == b"\x89PNG\r\n\x1a\n"' "$url" && ok || bad "preview.png"
  run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 10 --save-every 10 --preview-every 10
  expect_rc 0 "a third session"
  for _ in $(seq 1 100); do
    [ "$(json "${url}status.json" 'd["iteration"]')" = $((saved + 10)) ] && break
    sleep 0.1
  done
  [ "$(json "${url}status.json" '(d["iteration"], len(d["runs"]))')" = "($((saved + 10)), 3)" ] && ok ||
    bad "monitor did not follow: $(json "${url}status.json" '(d["iteration"], d["runs"])')"
  port=${url##*:}
  port=${port%/}
  # a port in use: one line, before any training (no model folder made)
  run "$bin" train "${common[@]}" --model "$scratch/busy" --iterations 5 --monitor "$port"
  expect_rc 2 "train on a port in use"
  expect_one_line "$err" "port in use"
  expect_in "$err" "127.0.0.1:$port: the port is in use" "port in use message"
  [ ! -e "$scratch/busy" ] && ok || bad "training started on a port in use"
  run "$bin" --config "$root/configs/tiny.json" --work "$scratch/job" --monitor "$port"
  expect_rc 2 "main job on a port in use"
  expect_in "$err" "the port is in use" "main job port message"
  [ ! -e "$scratch/job/faces" ] && ok || bad "the main job extracted on a port in use"
fi
kill -INT $mon
wait $mon
rc=$?
[ "$rc" = 0 ] && ok || bad "dsengine monitor exit $rc after Ctrl-C"

# bad addresses and folders
run "$bin" train "${common[@]}" --model "$scratch/x" --monitor localhost:80
expect_rc 2 "a name, not an address"
expect_in "$err" "numeric address" "bad address message"
run "$bin" train "${common[@]}" --model "$scratch/x" --monitor 99999
expect_rc 2 "port out of range"
[ ! -e "$scratch/x" ] && ok || bad "a bad --monitor made a model folder"
run "$bin" monitor --model "$scratch/none"
expect_rc 2 "monitor of a missing folder"
expect_one_line "$err" "missing folder"
run "$bin" monitor
expect_rc 2 "monitor without --model"

finish monitor_cli
