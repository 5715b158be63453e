#!/usr/bin/env bash
# Clear failures: each failure below exits with its status and says, in one
# line on stderr, which thing failed and what to do. Only what the other shell
# tests do not check already:
#   no OpenCL platform (empty ICD folder)  cli_test.sh:90-96 (devices, exit 2, one line)
#   requested device missing               cli_test.sh:45-69 (DSENGINE_DEVICE/--device nvidia, 99)
#   kernel build failure                   cli_test.sh:81-88 (devices --check; here: train)
#   config JSON wrong type                 tests/test_config.c (every key); here: one CLI case
#   config that does not match the model   train_test.sh:46-51 (train), convert_test.sh:61-65 (convert)
#   corrupt PNG face (not a PNG)           train_test.sh:82-86 (exit 2, named; here: truncated)
#   missing model, input, landmark model   convert_test.sh:53-81, extract_test.sh:47-52
#   "not a video" for extract              extract_test.sh:53-56
#   truncated/corrupt checkpoint files     tests/test_checkpoint.c (library); here: the CLI
# Disk full mounts a 1600 KiB tmpfs (room for one micro checkpoint, not two) and
# needs root; without it that check is skipped and says so.
# usage: failure_test.sh DSENGINE SYNTH_FACES SYNTH_CLIP VIDEO_PROBE REPO_ROOT SCRATCH
set -u
bin=$1
synth=$2
synth_clip=$3
probe=$4
root=$5
scratch=$6
if mountpoint -q "$scratch/full" 2>/dev/null; then umount "$scratch/full"; fi
rm -rf "$scratch"
mkdir -p "$scratch"
. "$(dirname "$0")/lib.sh"

# the error line: exit status, one line, and each of the words that must be in it
expect_error() {
  local what=$1 code=$2
  shift 2
  expect_rc "$code" "$what"
  expect_one_line "$err" "$what"
  for word in "$@"; do expect_in "$err" "$word" "$what"; done
}

"$synth" --identity 0 --count 24 --size 64 --seed 1 "$scratch/A" >/dev/null || bad "synth A"
"$synth" --identity 1 --count 24 --size 64 --seed 2 "$scratch/B" >/dev/null || bad "synth B"
micro=$root/tests/data/train_micro.json
faces=(--faces A="$scratch/A" --faces B="$scratch/B")
model=$scratch/m
run "$bin" train --config "$micro" "${faces[@]}" --model "$model" --iterations 4 --save-every 2
expect_rc 0 "a model to break"
clip=$scratch/clip.mp4
run "$synth_clip" --identity 0 --frames 60 --width 320 --height 240 --seed 7 --out "$clip" \
  --alignments "$scratch/al.json"
expect_rc 0 "synth_clip"

# kernel build failure in train: exit 1; the one error line names the program
# and the device, and the compiler's build log follows it (PoCL's clang also
# prints "N errors generated." first, on its own)
rm -rf "$scratch/cl"
cp -r "$root/cl" "$scratch/cl"
printf 'kernel void broken(global float *x) { x[0] = not_declared_anywhere; }\n' >>"$scratch/cl/nn/adam.cl"
run env DSENGINE_KERNEL_DIR="$scratch/cl" DSENGINE_CACHE_DIR=off "$bin" train --config "$micro" \
  "${faces[@]}" --model "$scratch/k" --iterations 1
expect_rc 1 "kernel build failure"
[ "$(printf '%s\n' "$err" | grep -c '^dsengine: error:')" = 1 ] && ok || bad "kernel build: not one error line: $err"
expect_in "$(printf '%s\n' "$err" | grep '^dsengine: error:')" "'nn/adam' failed to build" "kernel named"
expect_in "$err" "not_declared_anywhere" "build log printed"

# device out of memory: a dense layer of 65536 x 16384 floats, checked before any allocation
python3 - "$micro" "$scratch/huge.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["encoder"]["dense"], c["encoder"]["bottleneck"] = 65536, [2, 2, 4096]
json.dump(c, open(sys.argv[2], "w"))
PY
run "$bin" train --config "$scratch/huge.json" "${faces[@]}" --model "$scratch/oom" --iterations 1
expect_error "device out of memory" 1 "out of device memory" "needs" "smaller --batch"

# disk full while saving: exit 1 naming the file, and the previous checkpoint survives and loads
mkdir -p "$scratch/full"
if mount -t tmpfs -o size=1600k tmpfs "$scratch/full" 2>/dev/null; then
  run "$bin" train --config "$micro" "${faces[@]}" --model "$scratch/full/m" --iterations 4 \
    --save-every 2
  expect_error "disk full" 1 "cannot write $scratch/full/m/" "No space left on device"
  python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["iteration"] == 2' \
    "$scratch/full/m/model.json" && ok || bad "disk full: the checkpoint of iteration 2 is gone"
  run "$bin" convert --model "$scratch/full/m" --swap A:B "$clip" --alignments "$scratch/al.json" \
    --out "$scratch/full-m.mp4" --frames 2
  expect_rc 0 "the checkpoint left by a full disk loads"
  umount "$scratch/full"
else
  echo "failures: disk full skipped: cannot mount a tmpfs (needs root)"
fi

# a config value of the wrong type, named by its key
python3 - "$micro" "$scratch/type.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["input"]["size"] = "big"
json.dump(c, open(sys.argv[2], "w"))
PY
run "$bin" train --config "$scratch/type.json" "${faces[@]}" --model "$scratch/t" --iterations 1
expect_error "config wrong type" 2 "$scratch/type.json" "input.size"

# truncated checkpoint files (current and backup): train and convert refuse, naming them
cp -r "$model" "$scratch/trunc"
for f in "$scratch/trunc"/*.bin; do truncate -s 1000 "$f"; done
run "$bin" train "${faces[@]}" --model "$scratch/trunc" --iterations 1
expect_error "truncated checkpoint, train" 1 "weights-00000004.bin is corrupt" "backup too"
run "$bin" convert --model "$scratch/trunc" --swap A:B "$clip" --alignments "$scratch/al.json" \
  --out "$scratch/x.mp4"
expect_error "truncated checkpoint, convert" 1 "weights-00000004.bin is corrupt"
# a truncated model.json
cp -r "$model" "$scratch/index"
head -c 200 "$model/model.json" >"$scratch/index/model.json"
run "$bin" train "${faces[@]}" --model "$scratch/index" --iterations 1
expect_error "truncated model.json" 1 "$scratch/index/model.json"

# corrupt detector and landmark models
head -c 5000 "$root/models/dlib_frontal_face_detector.dat" >"$scratch/det.dat"
run "$bin" extract "$clip" --out "$scratch/e1" --detector "$scratch/det.dat"
expect_error "corrupt detector" 1 "$scratch/det.dat" "not a valid dlib HOG detector"
sp=/usr/share/dlib/shape_predictor_68_face_landmarks.dat
if [ -f "$sp" ]; then
  head -c 5000 "$sp" >"$scratch/sp.dat"
  run "$bin" extract "$clip" --out "$scratch/e2" --landmarks "$scratch/sp.dat"
  expect_error "corrupt landmark model" 1 "$scratch/sp.dat" "not a valid dlib shape predictor"
else
  echo "failures: corrupt landmark model skipped: no $sp (libdlib-data)"
fi

# corrupt alignments.json: for convert, and the one extract finds in --out
head -c 3000 "$scratch/al.json" >"$scratch/al-cut.json"
run "$bin" convert --model "$model" --swap A:B "$clip" --alignments "$scratch/al-cut.json" \
  --out "$scratch/x.mp4"
expect_error "corrupt alignments, convert" 2 "$scratch/al-cut.json" "cut short"
mkdir -p "$scratch/e3"
cp "$scratch/al-cut.json" "$scratch/e3/alignments.json"
run "$bin" extract "$clip" --out "$scratch/e3"
expect_error "corrupt alignments, extract" 2 "$scratch/e3/alignments.json" "--redo"

# a truncated PNG face in a training folder
cp -r "$scratch/B" "$scratch/Bcut"
head -c 300 "$scratch/B/$(ls "$scratch/B" | head -1)" >"$scratch/Bcut/zz_cut.png"
run "$bin" train --config "$micro" --faces A="$scratch/A" --faces B="$scratch/Bcut" \
  --model "$scratch/p" --iterations 1
expect_error "truncated PNG face" 1 "$scratch/Bcut/zz_cut.png" "truncated"

# a truncated mp4 (the first 40% of the clip): extract fails naming the frame;
# convert writes the frames it could read, exit 0, with a one-line warning on stderr
mkdir -p "$scratch/cut"
head -c $(($(stat -c %s "$clip") * 2 / 5)) "$clip" >"$scratch/cut/clip.mp4"
run "$bin" extract "$scratch/cut/clip.mp4" --out "$scratch/e4"
expect_error "truncated mp4, extract" 1 "$scratch/cut/clip.mp4" "truncated"
run "$bin" convert --model "$model" --swap A:B "$scratch/cut/clip.mp4" --alignments "$scratch/al.json" \
  --out "$scratch/cut.mp4"
expect_rc 0 "truncated mp4, convert"
expect_in "$err" "dsengine: warning: the input ended early: video $scratch/cut/clip.mp4" "truncated mp4 named"
expect_one_line "$err" "truncated mp4 warning"
read_frames=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) frames in.*/\1/p')
expect_in "$("$probe" "$scratch/cut.mp4")" "frames=$read_frames " "the frames read are written"

finish failures
