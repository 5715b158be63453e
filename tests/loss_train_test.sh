#!/usr/bin/env bash
# dsengine train with a list of loss terms (issue 19) on synthetic faces: the
# weighted ssim + mse + gmsd + ms_ssim loss falls, model.json keeps the terms,
# a resumed run reads them back, and a bad term is refused naming the key.
# usage: loss_train_test.sh DSENGINE SYNTH_FACES REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
root=$3
scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

"$synth" --identity 0 --count 16 --size 256 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 16 --size 256 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
# the micro network of train_test.sh (32 px: ms_ssim takes 2 scales)
terms='[{"type": "ssim", "weight": 1}, {"type": "mse", "weight": 2}, {"type": "gmsd", "weight": 0.5}, {"type": "ms_ssim", "weight": 0.5}]'
sed "s/\"loss\": \"mae\"/\"loss\": $terms/" "$root/tests/data/train_micro.json" >"$scratch/terms.json"
common=(--config "$scratch/terms.json" --faces A="$scratch/A" --faces B="$scratch/B" --batch 8)

run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 60 --save-every 30
expect_rc 0 "train with four terms"
/usr/bin/python3 - "$scratch/m/model.json" "$out" <<'PY' && ok || bad "model.json / loss: see above"
import json, re, sys
m = json.load(open(sys.argv[1]))
loss = m["config"]["train"]["loss"]
assert [(t["type"], t["weight"]) for t in loss] == [("ssim", 1), ("mse", 2), ("gmsd", 0.5), ("ms_ssim", 0.5)], loss
for name in "AB":
    first, last = re.search(r"loss %s: first \d+ iterations ([0-9.]+), last \d+ ([0-9.]+)" % name, sys.argv[2]).groups()
    assert float(last) < 0.97 * float(first), (name, first, last)
PY

run "$bin" train "${common[@]}" --model "$scratch/m" --iterations 5
expect_rc 0 "resume"
expect_in "$out" "resuming $scratch/m from iteration 60" "resume note"

sed "s/\"loss\": \"mae\"/\"loss\": [{\"type\": \"ssim\", \"weight\": -1}]/" "$root/tests/data/train_micro.json" >"$scratch/bad.json"
run "$bin" train --config "$scratch/bad.json" --faces A="$scratch/A" --faces B="$scratch/B" --model "$scratch/m2"
expect_rc 2 "a negative weight"
expect_in "$err" "train.loss[0].weight" "the key is named"
expect_one_line "$err" "the error"

finish loss_train
