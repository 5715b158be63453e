#!/usr/bin/env bash
# synth_clip and synth_measure, the tools of the convert end-to-end test, on
# clips that need no training: the measure must find identity 0 in every
# frame of an identity-0 clip, identity 1 in an identity-1 clip, and a mouth
# that follows the drawn one (Pearson >= 0.95, against --truth and against the
# landmarks); the alignments file must be what convert reads.
# usage: synth_clip_test.sh SYNTH_CLIP SYNTH_MEASURE SCRATCH [AUDIO]
# AUDIO, a file with an audio stream, also checks that the clip carries it.
set -u
clip=$1
measure=$2
scratch=$3
audio=${4:-}
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

audio_args=()
[ -n "$audio" ] && audio_args=(--audio "$audio")
for id in 0 1; do
  other=$((1 - id))
  a=(--identity $id --frames 60 --width 320 --height 240 --seed $((id + 3)))
  run "$clip" "${a[@]}" --out "$scratch/clip$id.mp4" --alignments "$scratch/al$id.json" \
    --truth "$scratch/truth$id.csv" "${audio_args[@]}"
  expect_rc 0 "synth_clip identity $id"
  expect_in "$out" "wrote 60 frames of identity $id" "synth_clip summary"

  run "$measure" --video "$scratch/clip$id.mp4" --alignments "$scratch/al$id.json" \
    --truth "$scratch/truth$id.csv" --expect-identity $id --min-corr 0.95
  expect_rc 0 "identity $id clip measured as identity $id with its mouth"
  echo "identity $id clip: $out"
  expect_in "$out" "frames=60 width=320 height=240" "frame count and size"
  expect_in "$out" "closer_to_$id=60" "every frame is identity $id"
  expect_in "$out" "(0 by colour)" "every frame told apart by its features"
  if [ -n "$audio" ]; then expect_in "$out" "audio=1" "audio copied"; fi

  # without --truth the landmarks in the alignments file are the truth
  run "$measure" --video "$scratch/clip$id.mp4" --alignments "$scratch/al$id.json" --min-corr 0.95
  expect_rc 0 "mouth against the landmarks"
  expect_in "$out" "truth from the landmarks" "landmark truth"

  # the measure can fail: the other identity is not there
  run "$measure" --video "$scratch/clip$id.mp4" --alignments "$scratch/al$id.json" \
    --expect-identity $other
  expect_rc 1 "identity $id clip taken for identity $other"
  expect_in "$out" "FAILED: 0 of 60 faces are closer to identity $other" "identity failure line"
done

# the alignments file: what extract would write, source path as given
"$py" - "$scratch/al0.json" "$scratch/clip0.mp4" "$scratch/truth0.csv" <<'PY' && ok || bad "alignments / truth: see above"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["format"] == "dsengine-alignments" and a["size"] == 256 and a["padding"] == 48
(s,) = a["sources"]
assert s["path"] == sys.argv[2] and s["kind"] == "video", s["path"]
assert (s["width"], s["height"], s["frame_count"]) == (320, 240, 60)
assert [f["index"] for f in s["frames"]] == list(range(60))
for f in s["frames"]:
    (face,) = f["faces"]
    assert face["file"] == "" and face["score"] == 1
    xs = [p[0] for p in face["landmarks"]]
    ys = [p[1] for p in face["landmarks"]]
    assert face["box"] == [min(xs), min(ys), max(xs), max(ys)], face["box"]
    assert 0 <= min(xs) and max(xs) < 320 and 0 <= min(ys) and max(ys) < 240
    # the eyes land near the mean face's eye row, as extract_test.sh checks
    m = face["matrix"]
    eyes = [m[3] * x + m[4] * y + m[5] for x, y in face["landmarks"][36:48]]
    assert abs(sum(eyes) / 12 - (48 + 0.225 * 160)) < 12, eyes
rows = open(sys.argv[3]).read().split()
assert rows[0] == "frame,mouth_open" and len(rows) == 61
opens = [float(r.split(",")[1]) for r in rows[1:]]
assert min(opens) == 0 and max(opens) == 1, (min(opens), max(opens))
# several open-close cycles: the sequence turns at least 6 times
turns = sum((b - a) * (c - b) < 0 for a, b, c in zip(opens, opens[1:], opens[2:]))
assert turns >= 6, turns
PY

# --expect-audio fails on a clip without audio
if [ -z "$audio" ]; then
  run "$measure" --video "$scratch/clip0.mp4" --alignments "$scratch/al0.json" --expect-audio
  expect_rc 1 "no audio"
  expect_in "$out" "has no audio stream" "no audio line"
fi

# a video that does not match the alignments is refused, whatever else it shows
run "$clip" --identity 0 --frames 30 --width 320 --height 240 --out "$scratch/short.mp4" \
  --alignments "$scratch/short.json"
run "$measure" --video "$scratch/short.mp4" --alignments "$scratch/al0.json"
expect_rc 1 "frame count mismatch"
expect_in "$out" "has 30 frames of 320x240" "mismatch line"

# bad arguments
run "$clip" --identity 2 --frames 10 --width 320 --height 240 --out "$scratch/x.mp4" --alignments "$scratch/x.json"
expect_rc 2 "identity out of range"
expect_in "$err" "synth_clip: error: --identity 2" "identity message"
run "$clip" --identity 0 --frames 10 --width 321 --height 240 --out "$scratch/x.mp4" --alignments "$scratch/x.json"
expect_rc 2 "odd width"
run "$clip" --identity 0 --frames 10 --width 320 --height 240 --out "$scratch/x.mp4"
expect_rc 2 "no alignments"
expect_in "$err" "--alignments is required" "missing --alignments"
run "$clip" --identity 0 --frames 10 --width 320 --height 240 --out "$scratch/x.txt" --alignments "$scratch/x.json"
expect_rc 2 "unknown container"
run "$measure" --video "$scratch/clip0.mp4"
expect_rc 2 "measure without alignments"
run "$measure" --video "$scratch/none.mp4" --alignments "$scratch/al0.json"
expect_rc 2 "missing video"
expect_in "$err" "none.mp4" "missing video named"

finish synth_clip
