#!/usr/bin/env bash
# dsengine convert --mask learned (issue 19) on synthetic faces: a decoder.mask
# model (tests/data/tiny_mask.json) trained for a few iterations converts an
# image with --mask learned; with alpha blending and no colour match the output
# equals --mask hull's wherever the hull covers the pixel and its blur cannot
# reach (the learned mask only adds to the hull), differs from it somewhere
# outside the hull, and equals the input far from the face. With the default
# Poisson blend the output is written and differs from hull's. A model without
# decoder.mask is refused before any work, in one line naming the model
# folder and the way out, exit 2. Without --mask a mask model converts as
# with --mask learned, and says so.
# usage: convert_mask_test.sh DSENGINE SYNTH_FACES REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
root=$3
scratch=$4
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

# alignments.json for a folder of synth_faces PNGs, from the landmarks each
# one stores in a tEXt chunk: KIND video (training faces, one per frame) or
# image (the one input image, named by its path)
alignments() {
  "$py" - "$@" <<'PY'
import glob, json, os, struct, sys
folder, kind, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
def landmarks(path):
    data, at = open(path, "rb").read(), 8
    while at < len(data):
        n, tag = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + n]
        if tag == b"tEXt" and body.startswith(b"landmarks\0"):
            v = [float(x) for x in body[10:].decode().replace(",", " ").split()]
            return [[v[2 * i], v[2 * i + 1]] for i in range(68)]
        at += 12 + n
    raise SystemExit("no landmarks in " + path)
def face(path):
    return {"box": [0, 0, size, size], "score": 1, "landmarks": landmarks(path),
            "matrix": [1, 0, 0, 0, 1, 0], "file": os.path.basename(path) if kind == "video" else ""}
paths = sorted(glob.glob(os.path.join(folder, "face_*.png")))
if kind == "video":
    frames = [{"index": i, "time": i / 25, "faces": [face(p)]} for i, p in enumerate(paths)]
    src = {"path": "synth.mp4", "kind": "video", "width": size, "height": size,
           "frame_count": len(frames), "frames": frames}
else:
    src = {"path": paths[0], "kind": "image", "width": size, "height": size, "frame_count": 1,
           "frames": [{"index": 0, "time": 0, "faces": [face(paths[0])]}]}
json.dump({"format": "dsengine-alignments", "version": 1, "size": size, "padding": 3 * size // 16,
           "sources": [src]}, open(os.path.join(folder, "alignments.json"), "w"))
PY
}

for id in 0 1; do
  "$synth" --identity $id --count 16 --size 128 --seed 3 --aligned "$scratch/f$id" >/dev/null ||
    bad "synth_faces $id"
  alignments "$scratch/f$id" video 128 || bad "alignments.json of $scratch/f$id"
done
"$synth" --identity 0 --count 1 --size 160 --seed 9 "$scratch/in" >/dev/null || bad "synth input"
alignments "$scratch/in" image 160 || bad "alignments.json of the input"
img=$scratch/in/face_0000.png
al=$scratch/in/alignments.json

model=$scratch/mask_model
run "$bin" train --config "$root/tests/data/tiny_mask.json" --faces A="$scratch/f0" \
  --faces B="$scratch/f1" --model "$model" --batch 8 --iterations 12 --save-every 12 \
  --preview-every 12 --seed 1
expect_rc 0 "train tiny_mask"
expect_in "$out" "mask" "the trainer reports the mask"

conv() { # NAME MODEL ARGS...: converts the input image to $scratch/NAME.png
  local name=$1 m=$2
  shift 2
  run "$bin" convert --model "$m" --swap A:B "$img" --alignments "$al" --out "$scratch/$name.png" "$@"
}
for mask in hull learned; do
  conv "$mask-alpha" "$model" --mask $mask --blend alpha --color none
  expect_rc 0 "convert --mask $mask --blend alpha"
  conv "$mask" "$model" --mask $mask
  expect_rc 0 "convert --mask $mask"
  [ -s "$scratch/$mask.png" ] && ok || bad "no $scratch/$mask.png"
done

# blur 5 (the default) reaches 2 px: the outputs may differ only where the
# hull shrunk by 3 px does not cover the pixel
"$py" - "$img" "$al" "$scratch" <<'PY' && ok || bad "learned against hull: see above"
import json, struct, sys, zlib
import numpy as np
def png(path):  # 8-bit RGB or RGBA, not interlaced (what dsengine and synth_faces write)
    data, at, idat = open(path, "rb").read(), 8, b""
    while at < len(data):
        n, tag = struct.unpack(">I4s", data[at:at + 8])
        if tag == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", data[at + 8:at + 18])
        elif tag == b"IDAT":
            idat += data[at + 8:at + 8 + n]
        at += 12 + n
    assert depth == 8 and color in (2, 6), (path, depth, color)
    c = 3 if color == 2 else 4
    raw, stride = zlib.decompress(idat), w * c
    out = np.zeros((h, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - c] if x >= c else 0
            b, d = prev[x], prev[x - c] if x >= c else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = b
            elif f == 3: p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - d), abs(a - d), abs(a + b - 2 * d)
                p = a if pa <= pb and pa <= pc else b if pb <= pc else d
            cur[x] = (line[x] + p) & 255
        out[y], prev = cur, cur
    return out.reshape(h, w, c)[:, :, :3]
img, al, d = sys.argv[1:4]
src, hull, learned = png(img), png(d + "/hull-alpha.png"), png(d + "/learned-alpha.png")
hull_p, learned_p = png(d + "/hull.png"), png(d + "/learned.png")
pts = np.array(json.load(open(al))["sources"][0]["frames"][0]["faces"][0]["landmarks"])
def cross(o, a, b): return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
p = sorted(map(tuple, pts))
lower, upper = [], []
for q in p:
    while len(lower) >= 2 and cross(lower[-2], lower[-1], q) <= 0: lower.pop()
    lower.append(q)
for q in reversed(p):
    while len(upper) >= 2 and cross(upper[-2], upper[-1], q) <= 0: upper.pop()
    upper.append(q)
hull_pts = lower[:-1] + upper[:-1]  # counter-clockwise with y up
h, w = src.shape[:2]
ys, xs = np.mgrid[0:h, 0:w]
deep = np.ones((h, w), bool)
for i in range(len(hull_pts)):
    a, b = np.array(hull_pts[i]), np.array(hull_pts[(i + 1) % len(hull_pts)])
    e = b - a
    deep &= (e[0] * (ys - a[1]) - e[1] * (xs - a[0])) / np.hypot(*e) >= 3
diff = (hull != learned).any(axis=2)
print("alpha: %d pixels differ between learned and hull, %d of them inside the shrunk hull (%d px)"
      % (diff.sum(), (diff & deep).sum(), deep.sum()))
assert deep.sum() > 1000, "the shrunk hull is too small to say anything"
assert not (diff & deep).any(), "the learned mask changed pixels the hull covers"
assert diff.sum() > 0, "the learned mask added nothing to the hull"
far = np.zeros((h, w), bool)
far[:4, :] = far[-4:, :] = True
changed = (learned != src).any(axis=2)
print("pixels changed against the input: %d; in the 4 px frame border: %d" % (changed.sum(), (changed & far).sum()))
assert not (changed & far).any(), "the frame's border changed"
assert (hull_p != learned_p).any(), "poisson: learned equals hull"
PY

# no --mask: a model with a mask converts with --mask learned, and says so
conv auto "$model"
expect_rc 0 "convert a mask model without --mask"
expect_in "$out$err" "the mask is --mask learned" "the note names the mask chosen"
cmp -s "$scratch/auto.png" "$scratch/learned.png" && ok || bad "no --mask differs from --mask learned"
cmp -s "$scratch/auto.png" "$scratch/hull.png" && bad "no --mask equals --mask hull" || ok

# a model without decoder.mask: refused before any work
run "$bin" train --config "$root/tests/data/train_micro.json" --faces A="$scratch/f0" \
  --faces B="$scratch/f1" --model "$scratch/plain" --batch 8 --iterations 2 --save-every 2 --seed 1
expect_rc 0 "train a plain model"
conv refused "$scratch/plain" --mask learned
expect_rc 2 "--mask learned on a model without a mask"
expect_in "$err" "$scratch/plain" "the model folder is named"
expect_in "$err" '"decoder": {"mask": true}' "the way out is named"
expect_in "$err" "--mask hull" "the other masks are named"
expect_one_line "$err" "the refusal"
[ ! -e "$scratch/refused.png" ] && ok || bad "a refused convert left $scratch/refused.png"
run "$bin" convert --help
expect_in "$out" "learned" "convert --help names learned"

finish convert_mask
