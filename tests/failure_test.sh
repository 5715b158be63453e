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
# needs root; without root, or without libdlib-data for the corrupt landmark
# model, the other checks run and the test exits 77 (skipped, which CI refuses).
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

# device out of memory, the same on a 4 GiB and a 128 GiB machine: the config
# is built from what the training device reports (its global memory) and
# what this host has (MemTotal), so its parameters and Adam state need at
# least 1.5 times the larger; the engine must refuse it before allocating
# anything (a process the OOM killer ends exits 137, which fails here)
dev_json=$("$bin" devices --json) || bad "devices --json"
"$py" - "$micro" "$scratch/huge.json" "$dev_json" <<'PY' || bad "cannot build a too-large config"
import json, sys
c = json.load(open(sys.argv[1]))
devs = json.loads(sys.argv[3])
dev = devs["devices"][devs["chosen"]]
total = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
target = 1.5 * max(dev["global_mem_bytes"], total)
LIMIT = 2 ** 31  # parameters one layer may have (engine/model/config.c)

def scaled(s):
    """micro's shape with layers widened by s; every layer stays under LIMIT"""
    d = dict(c, encoder=dict(c["encoder"]), decoder=dict(c["decoder"]))
    d["encoder"]["dense"] = 65536
    bc = max(32, int(8192 * s))
    d["encoder"]["bottleneck"] = [2, 2, bc]
    up = max(16, int(7000 * s))
    d["encoder"]["upscale"] = up
    u = [max(8, int(7000 * s)), max(8, int(7000 * s)), max(8, int(7000 * s))]
    d["decoder"]["upscale"] = u
    flat = (c["input"]["size"] // 8) ** 2 * c["encoder"]["conv"][-1]
    layers = [flat * 65536, 65536 * 4 * bc, 9 * bc * 4 * up]
    prev = up
    for f in u:
        layers.append(9 * prev * 4 * f)
        prev = f
    assert max(layers) <= LIMIT, layers
    ids = len(d["decoders"])
    params = sum(layers[:3]) + ids * sum(layers[3:])
    return d, 16 * params  # parameters, gradients and two Adam moments, float32

for s in [x / 64 for x in range(1, 65)]:
    d, need = scaled(s)
    if need >= target:
        json.dump(d, open(sys.argv[2], "w"))
        print("too-large config: %.1f GiB of parameters and Adam state against %.1f GiB "
              "(device %.1f GiB, host %.1f GiB)" % (need / 2**30, target / 2**30,
              dev["global_mem_bytes"] / 2**30, total / 2**30))
        sys.exit(0)
sys.exit("no config of this family exceeds %.0f GiB" % (target / 2**30))
PY
run "$bin" train --config "$scratch/huge.json" "${faces[@]}" --model "$scratch/oom" --iterations 1
expect_error "device out of memory" 1 "out of device memory" "model 'train-micro' at batch 8 needs" \
  "smaller --batch (now 8)"
[ ! -e "$scratch/oom/model.json" ] && ok || bad "device out of memory: a checkpoint was written"

# the same with the device limited to 1 GiB (PoCL's POCL_MEMORY_LIMIT, in GiB)
# and a config of about 2 GiB that this host could hold
"$py" - "$micro" "$scratch/mid.json" <<'PY' || bad "cannot write mid.json"
import json, sys
c = json.load(open(sys.argv[1]))
c["encoder"]["dense"], c["encoder"]["bottleneck"] = 8192, [2, 2, 4096]
json.dump(c, open(sys.argv[2], "w"))
PY
run env POCL_MEMORY_LIMIT=1 "$bin" train --config "$scratch/mid.json" "${faces[@]}" \
  --model "$scratch/oom1" --iterations 1
expect_error "device out of memory at 1 GiB" 1 "out of device memory" "has 1.00 GiB" \
  "smaller --batch (now 8)"

# disk full while saving: exit 1 naming the file, and the previous checkpoint survives and loads
mkdir -p "$scratch/full"
if mount -t tmpfs -o size=1600k tmpfs "$scratch/full" 2>/dev/null; then
  run "$bin" train --config "$micro" "${faces[@]}" --model "$scratch/full/m" --iterations 4 \
    --save-every 2
  expect_error "disk full" 1 "cannot write $scratch/full/m/" "No space left on device"
  "$py" -c 'import json,sys; assert json.load(open(sys.argv[1]))["iteration"] == 2' \
    "$scratch/full/m/model.json" && ok || bad "disk full: the checkpoint of iteration 2 is gone"
  run "$bin" convert --model "$scratch/full/m" --swap A:B "$clip" --alignments "$scratch/al.json" \
    --out "$scratch/full-m.mp4" --frames 2
  expect_rc 0 "the checkpoint left by a full disk loads"
  umount "$scratch/full"
else
  skip_part "disk full: cannot mount a tmpfs on $scratch/full (run as root)"
fi

# a config value of the wrong type, named by its key
"$py" - "$micro" "$scratch/type.json" <<'PY' || bad "cannot write type.json"
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
  skip_part "corrupt landmark model: no $sp (apt-get install libdlib-data)"
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
