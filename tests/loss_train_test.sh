#!/usr/bin/env bash
# dsengine train with a list of loss terms (issue 19) on synthetic faces: the
# weighted ssim + mse + gmsd + ms_ssim loss falls, model.json keeps the terms,
# a resumed run reads them back, and a bad term is refused naming the key.
# Then train.face_area: the landmarks come from alignments.json (written here
# from the landmarks synth_faces --aligned stores in each PNG), the loss falls,
# and a folder without alignments.json is refused naming it. Then decoder.mask:
# the mask's error (reported apart) falls, model.json keeps the mask and its
# weight, the preview has a mask row per identity, and a resume without the
# mask, --devices and a folder without alignments.json are refused naming it.
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

# face-area weights: aligned synthetic faces and their alignments.json
for id in 0 1; do
  "$synth" --identity $id --count 16 --size 256 --seed 3 --aligned "$scratch/al$id" >/dev/null || bad "synth aligned"
  /usr/bin/python3 - "$scratch/al$id" <<'PY' || bad "alignments.json for $scratch/al$id"
import glob, json, os, struct, sys
d = sys.argv[1]
frames = []
for i, path in enumerate(sorted(glob.glob(os.path.join(d, "face_*.png")))):
    data, at, marks = open(path, "rb").read(), 8, None
    while at < len(data):
        n, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if kind == b"tEXt" and body.startswith(b"landmarks\0"):
            marks = [float(v) for v in body[10:].decode().replace(",", " ").split()]
        at += 12 + n
    pts = [[marks[2 * j], marks[2 * j + 1]] for j in range(68)]
    face = {"box": [0, 0, 256, 256], "score": 1, "landmarks": pts, "matrix": [1, 0, 0, 0, 1, 0],
            "file": os.path.basename(path)}
    frames.append({"index": i, "time": i / 25, "faces": [face]})
src = {"path": "synth.mp4", "kind": "video", "width": 256, "height": 256, "frame_count": len(frames),
       "frames": frames}
json.dump({"format": "dsengine-alignments", "version": 1, "size": 256, "padding": 48, "sources": [src]},
          open(os.path.join(d, "alignments.json"), "w"))
PY
done
sed "s/\"loss\": \"mae\"/\"loss\": \"mae\", \"face_area\": {\"background\": 0.1, \"eyes\": 3, \"mouth\": 2}/" \
  "$root/tests/data/train_micro.json" >"$scratch/area.json"
run "$bin" train --config "$scratch/area.json" --faces A="$scratch/al0" --faces B="$scratch/al1" --batch 8 \
  --model "$scratch/area" --iterations 60 --save-every 60
expect_rc 0 "train with face_area"
/usr/bin/python3 - "$scratch/area/model.json" "$out" <<'PY' && ok || bad "face_area model.json / loss: see above"
import json, re, sys
m = json.load(open(sys.argv[1]))
assert m["config"]["train"]["face_area"] == {"background": 0.1, "eyes": 3, "mouth": 2}, m["config"]["train"]
for name in "AB":
    first, last = re.search(r"loss %s: first \d+ iterations ([0-9.]+), last \d+ ([0-9.]+)" % name, sys.argv[2]).groups()
    assert float(last) < 0.97 * float(first), (name, first, last)
PY
run "$bin" train --config "$scratch/area.json" --faces A="$scratch/A" --faces B="$scratch/B" --batch 8 \
  --model "$scratch/area2" --iterations 2
expect_rc 2 "face_area without alignments.json"
expect_in "$err" "$scratch/A/alignments.json" "the missing file is named"
expect_in "$err" "train.face_area" "the way out is named"

# the learned mask: its target is the landmark hull of each aligned face
sed "s/\"out_kernel\": 5/\"out_kernel\": 5, \"mask\": true/; s/\"loss\": \"mae\"/\"loss\": \"mae\", \"mask_weight\": 2/" \
  "$root/tests/data/train_micro.json" >"$scratch/mask.json"
run "$bin" train --config "$scratch/mask.json" --faces A="$scratch/al0" --faces B="$scratch/al1" --batch 8 \
  --model "$scratch/mask" --iterations 60 --save-every 60 --preview-every 60
expect_rc 0 "train with decoder.mask"
/usr/bin/python3 - "$scratch/mask/model.json" "$out" "$scratch/mask/preview.png" "$scratch/area/preview.png" <<'PY' && ok || bad "decoder.mask model.json / loss / preview: see above"
import json, re, struct, sys
m = json.load(open(sys.argv[1]))
assert m["config"]["decoder"]["mask"] is True, m["config"]["decoder"]
assert m["config"]["train"]["mask_weight"] == 2, m["config"]["train"]
# the progress lines every 10 iterations: "... mask A 0.1234 B 0.0567 ..."
masks = [tuple(map(float, g)) for g in re.findall(r"  mask A ([0-9.]+) B ([0-9.]+)", sys.argv[2])]
assert len(masks) >= 5, masks
for k in range(2):
    assert masks[-1][k] < 0.7 * masks[0][k], ("the mask's error does not fall", masks)
def height(path):
    return struct.unpack(">I", open(path, "rb").read()[20:24])[0]
# 2 identities: 6 rows (each face, its reconstruction and swap) and, with the mask, 2 more
assert height(sys.argv[3]) > height(sys.argv[4]) * 7 // 6, (height(sys.argv[3]), height(sys.argv[4]))
PY
run "$bin" train --config "$root/tests/data/train_micro.json" --faces A="$scratch/al0" --faces B="$scratch/al1" \
  --batch 8 --model "$scratch/mask" --iterations 2
expect_rc 2 "resume of a mask model with a config without one"
expect_in "$err" "decoder.mask" "the differing key is named"
expect_one_line "$err" "the error"
run "$bin" train --config "$scratch/mask.json" --faces A="$scratch/al0" --faces B="$scratch/al1" --batch 8 \
  --model "$scratch/mask-dev" --iterations 2 --devices cpu,cpu
expect_rc 2 "decoder.mask on several devices"
expect_in "$err" "decoder.mask is not yet trained on several devices" "the refusal names the key"
run "$bin" train --config "$scratch/mask.json" --faces A="$scratch/A" --faces B="$scratch/B" --batch 8 \
  --model "$scratch/mask2" --iterations 2
expect_rc 2 "decoder.mask without alignments.json"
expect_in "$err" "$scratch/A/alignments.json" "the missing file is named"
expect_in "$err" "decoder.mask" "the way out names the key"
sed "s/\"loss\": \"mae\"/\"loss\": \"mae\", \"mask_weight\": 2/" "$root/tests/data/train_micro.json" >"$scratch/weight.json"
run "$bin" train --config "$scratch/weight.json" --faces A="$scratch/al0" --faces B="$scratch/al1" \
  --model "$scratch/mask3" --iterations 2
expect_rc 2 "train.mask_weight without decoder.mask"
expect_in "$err" "train.mask_weight" "the key is named"

finish loss_train
