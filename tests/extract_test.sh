#!/usr/bin/env bash
# dsengine extract end to end on dlib's example photos (tests/data/dlib-faces):
# faces found, aligned 256x256 PNGs with their text chunks, alignments.json,
# a second run reusing it, --redo, and clear failures on bad input.
# usage: extract_test.sh DSENGINE REPO_ROOT SCRATCH
set -u
bin=$1
root=$2
scratch=$3
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

faces=$root/tests/data/dlib-faces
run "$bin" extract "$faces" --out "$scratch/out" --upsample 1
expect_rc 0 "extract"
expect_in "$out" "5 frames from 5 sources" "summary"
"$py" - "$scratch/out" <<'PY' && ok || bad "alignments.json and faces: see above"
import json, os, sys, zlib
out = sys.argv[1]
a = json.load(open(os.path.join(out, "alignments.json")))
assert a["format"] == "dsengine-alignments" and a["size"] == 256 and a["padding"] == 48
faces = [f for s in a["sources"] for fr in s["frames"] for f in fr["faces"]]
assert len(a["sources"]) == 5 and len(faces) >= 10, (len(a["sources"]), len(faces))
for f in faces:
    assert len(f["landmarks"]) == 68 and len(f["matrix"]) == 6 and len(f["box"]) == 4
    png = open(os.path.join(out, f["file"]), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (w, h) == (256, 256), (w, h)
    assert b"dsengine:matrix" in png and b"dsengine:frame" in png
    # the eyes (landmarks 36-47) land on the mean face's eye row, y ~ 48 + 0.23 * 160
    m = f["matrix"]
    ys = [m[3] * x + m[4] * y + m[5] for x, y in f["landmarks"][36:48]]
    assert abs(sum(ys) / len(ys) - (48 + 0.225 * 160)) < 12, ys
print(len(faces), "faces")
PY

run "$bin" extract "$faces" --out "$scratch/out" --upsample 1
expect_rc 0 "second run"
expect_in "$out" "faces from alignments.json" "reuse"
run "$bin" extract "$faces" --out "$scratch/out" --upsample 1 --redo
expect_rc 0 "--redo"
case "$out" in *"faces from alignments.json"*) bad "--redo reused alignments" ;; *) ok ;; esac

run "$bin" extract "$scratch/missing.mp4" --out "$scratch/o2"
expect_rc 2 "missing input"
expect_one_line "$err" "missing input"
expect_in "$err" "missing.mp4" "missing input named"
run "$bin" extract "$faces" --out "$scratch/o3" --landmarks "$scratch/none.dat"
expect_rc 2 "missing landmark model"
expect_in "$err" "libdlib-data" "package named"
printf 'not a video' >"$scratch/text.mp4"
run "$bin" extract "$scratch/text.mp4" --out "$scratch/o4"
expect_rc 2 "not a video"
expect_in "$err" "text.mp4" "bad file named"
run "$bin" extract "$faces"
expect_rc 2 "no --out"
run "$bin" extract "$faces" --out "$scratch/o5" --every 0
expect_rc 2 "bad --every"

finish extract
