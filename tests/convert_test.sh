#!/usr/bin/env bash
# The main job (dsengine --config) on the bundled sample with a short training run, then
# dsengine convert: output video length, rate and audio equal to the source's, pixels away
# from the faces untouched, previews written, a second run reusing faces and model, an
# interrupted convert leaving a playable file, an image input, and clear errors before any
# work for a missing model, an unknown identity, a mismatched config and a bad output path.
# usage: convert_test.sh DSENGINE VIDEO_PROBE VIDEO_COMPARE REPO_ROOT SCRATCH
set -u
bin=$1
probe=$2
compare=$3
root=$4
scratch=$5
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

cfg=$root/tests/data/main_tiny.json # tiny, 30 iterations
work=$scratch/run
clip=$root/samples/pair-man1.mp4

run "$bin" --config "$cfg" --work "$work"
expect_rc 0 "main job"
expect_in "$out" "video:" "main job summary"
for f in A_as_B.mp4 model/preview.png convert-preview.png faces/A/alignments.json; do
  [ -s "$work/$f" ] && ok || bad "main job: no $work/$f"
done
src_info=$("$probe" "$clip")
out_info=$("$probe" "$work/A_as_B.mp4")
expect_rc_of() { [ "$1" = 0 ] && ok || bad "$2"; }
expect_in "$src_info" "frames=216 width=480 height=480 fps=30/1 audio=1" "source probe"
[ "$out_info" = "$src_info" ] && ok || bad "output ($out_info) differs from the source ($src_info)"
# pixels away from the faces are the source's: compared on a lossless encode (the
# YUV 4:2:0 round trip is all that remains); the main job's CRF 18 output is reported
run "$bin" convert --model "$work/model" --swap A:B "$clip" --alignments "$work/faces/A/alignments.json" \
  --out "$scratch/lossless.mkv" --crf 0 --frames 60
expect_rc 0 "lossless convert"
cmp_out=$("$compare" "$clip" "$scratch/lossless.mkv" "$work/faces/A/alignments.json" 0.3)
expect_rc_of $? "video_compare failed: $cmp_out"
psnr=$(printf '%s\n' "$cmp_out" | sed -n 's/min_psnr=\([0-9.]*\).*/\1/p')
awk -v p="$psnr" 'BEGIN { exit !(p >= 45) }' && ok || bad "away from the faces PSNR $psnr dB < 45"
echo "away from the faces, lossless: $cmp_out"
echo "away from the faces, CRF 18: $("$compare" "$clip" "$work/A_as_B.mp4" "$work/faces/A/alignments.json" 0.3)"

# a second run reuses the faces and the model
run "$bin" --config "$cfg" --work "$work"
expect_rc 0 "second main job"
expect_in "$out" "already holds a trained model" "model reused"
expect_in "$out" "faces from alignments.json" "faces reused"

model=$work/model
al=$work/faces/A/alignments.json
# errors, each one line, before any work
run "$bin" convert --model "$scratch/none" --swap A:B "$clip" --out "$scratch/x.mp4"
expect_rc 2 "missing model"
expect_in "$err" "$scratch/none" "missing model named"
expect_one_line "$err" "missing model"
run "$bin" convert --model "$model" --swap A:Z "$clip" --out "$scratch/x.mp4"
expect_rc 2 "unknown identity"
expect_in "$err" "no identity Z" "unknown identity named"
run "$bin" convert --model "$model" --swap A:B --config "$root/configs/lowmem.json" "$clip" \
  --out "$scratch/x.mp4"
expect_rc 2 "config mismatch"
expect_in "$err" "does not describe the model" "config mismatch explained"
expect_one_line "$err" "config mismatch"
run "$bin" convert --model "$model" --swap A:B "$clip" --out "$scratch/no/such/dir/x.mp4"
[ "$rc" != 0 ] && ok || bad "unwritable output accepted"
expect_in "$err" "$scratch/no/such/dir/x.mp4" "unwritable output named"
run "$bin" convert --model "$model" --swap A:B "$clip" --out "$scratch/x.png"
expect_rc 2 "video to png"
run "$bin" convert --model "$model" --swap A:B "$scratch/missing.mp4" --out "$scratch/x.mp4"
expect_rc 2 "missing input"
expect_in "$err" "missing.mp4" "missing input named"
[ ! -e "$scratch/x.mp4" ] && ok || bad "a failed convert left $scratch/x.mp4"

# Ctrl-C part-way: exit 130 and a playable file of the frames done
"$bin" convert --model "$model" --swap A:B "$clip" --alignments "$al" --out "$scratch/int.mp4" \
  >"$scratch/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q "frame " "$scratch/int.out" 2>/dev/null && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" = 130 ] || [ "$rc" = 0 ] && ok || bad "interrupted convert: exit $rc ($(cat "$scratch/int.out"))"
int_info=$("$probe" "$scratch/int.mp4")
expect_rc_of $? "interrupted output does not decode: $int_info"
echo "interrupted convert (exit $rc): $int_info"

# an image, with faces found by the detector
img=$root/tests/data/dlib-faces/2008_002470.jpg
run "$bin" convert --model "$model" --swap A:B "$img" --out "$scratch/one.png" --blend alpha \
  --color reinhard --mask hull-rect
expect_rc 0 "image convert"
[ -s "$scratch/one.png" ] && ok || bad "no one.png"

finish convert
