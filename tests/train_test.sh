#!/usr/bin/env bash
# dsengine train end to end on synthetic faces: the loss falls, checkpoints and
# previews appear, a second run resumes, Ctrl-C saves, bad input fails clearly.
# usage: train_test.sh DSENGINE SYNTH_FACES REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
root=$3
scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

"$synth" --identity 0 --count 24 --size 256 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 24 --size 256 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
# the micro network with a 10x learning rate, so 60 iterations show learning
cfg=$root/tests/data/train_micro.json
common=(--config "$cfg" --faces A="$scratch/A" --faces B="$scratch/B" --batch 8)

# a first session: 60 iterations, checkpoints every 20
run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 60 --save-every 20 --preview-every 30
expect_rc 0 "first session"
expect_in "$out" "trained iterations 1..60" "summary"
[ -f "$scratch/m/model.json" ] && ok || bad "no model.json"
[ -f "$scratch/m/preview.png" ] && ok || bad "no preview.png"
"$py" - "$scratch/m/model.json" "$out" <<'PY' && ok || bad "model.json / loss: see above"
import json, re, sys
m = json.load(open(sys.argv[1]))
assert m["iteration"] == 60, m["iteration"]
hist = m["state"]["loss"]
assert set(hist) == {"A", "B"} and [p[0] for p in hist["A"]] == [20, 40, 60], hist
for name in "AB":
    first, last = re.search(r"loss %s: first \d+ iterations ([0-9.]+), last \d+ ([0-9.]+)" % name, sys.argv[2]).groups()
    assert float(last) < 0.9 * float(first), (name, first, last)
PY

# the same command resumes at 60
run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 10 --save-every 20
expect_rc 0 "resume"
expect_in "$out" "resuming $scratch/m from iteration 60" "resume note"
expect_in "$out" "trained iterations 61..70" "resumed numbering"

# without --config the model's own config is used
run "$bin" train --faces A="$scratch/A" --faces B="$scratch/B" --batch 8 --model "$scratch/m" --iterations 2
expect_rc 0 "resume without --config"

# another network in an existing model folder is refused before any work
run "$bin" train --config "$root/configs/tiny.json" --faces A="$scratch/A" --faces B="$scratch/B" --model "$scratch/m" --iterations 1
expect_rc 2 "config mismatch"
expect_one_line "$err" "config mismatch"
expect_in "$err" "another network" "config mismatch message"

# SIGINT: a save happens and the run exits 130; the next run resumes from it
"$bin" train "${common[@]}" --model "$scratch/int" --iterations 100000 --save-every 1000 >"$scratch/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do grep -q "^iteration\|samples/s" "$scratch/int.log" 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ "$rc" = 130 ] && ok || bad "SIGINT exit $rc: $(cat "$scratch/int.log")"
grep -q "interrupted at iteration" "$scratch/int.log" && ok || bad "no interrupted message"
"$py" -c 'import json,sys; assert json.load(open(sys.argv[1]))["iteration"] > 0' "$scratch/int/model.json" && ok || bad "no checkpoint after SIGINT"

# bad input
run "$bin" train "${common[@]}" --model "$scratch/x" --faces C="$scratch/A"
expect_rc 2 "unknown identity"
expect_in "$err" "no identity C" "unknown identity message"
mkdir -p "$scratch/empty"
run "$bin" train --config "$cfg" --faces A="$scratch/empty" --faces B="$scratch/B" --model "$scratch/x"
expect_rc 2 "empty folder"
expect_in "$err" "$scratch/empty" "empty folder named"
run "$bin" train --config "$cfg" --faces A="$scratch/A" --model "$scratch/x"
expect_rc 2 "missing identity"
expect_in "$err" "--faces B=DIR" "missing identity hint"
run "$bin" train "${common[@]}" --model "$scratch/x" --batch 64
expect_rc 2 "batch larger than the face set"
expect_in "$err" "--batch" "batch hint"
run "$bin" train --faces A="$scratch/A" --model "$scratch/none"
expect_rc 2 "new model without config"
expect_in "$err" "--config" "config hint"
printf 'not a png' >"$scratch/B/zz_broken.png"
run "$bin" train "${common[@]}" --model "$scratch/x"
expect_rc 2 "corrupt face"
expect_in "$err" "zz_broken.png" "corrupt face named"
expect_one_line "$err" "corrupt face"
[ ! -e "$scratch/x/model.json" ] && ok || bad "a failed run wrote a checkpoint"
run "$bin" train "${common[@]}" --model "$scratch/x" --iterations abc
expect_rc 2 "bad --iterations"

finish train
