#!/usr/bin/env bash
# Swap quality per training budget (issue 19): trains each config on the bundled pair
# (samples/) from the same seed for the same iterations (or minutes), converts pair-man1 to
# identity B, and reports what bench/quality_metrics.py measures on our own outputs (face
# sharpness, faces found, landmark error, mouth-open correlation, temporal change and jitter) with the
# held-out reconstruction loss of each identity (bench/heldout_loss.c on every 8th face,
# which training never sees; for a config with decoder.mask also the learned mask's IoU with its
# landmark target there, and the convert uses --mask learned). Prints a Markdown table; the work
# stays in --work.
#
#   bench/quality.sh [--iterations N | --minutes M | --quiet-minutes M [--quiet-wait S]]
#                    [--seed S] [--work DIR] [--keep] [CONFIG...]
#
# --minutes M trains each config for M minutes of wall time, so the load of the machine decides
# the iterations. --quiet-minutes M first measures each config's iterations per second on a quiet
# machine (3 runs of 80 iterations, each after waiting up to --quiet-wait seconds, 600, for the
# CPUs to be < 20 % busy; the best),
# then trains M minutes' worth of iterations at whatever load: the same model a quiet M-minute run
# makes, since training is deterministic for a seed and an iteration count. --keep reuses a
# model trained before with the same config, seed and budget (and its calibration).
# Defaults: 300 iterations, seed 1, build/quality, and configs/tiny.json (MAE, the original's
# loss) against bench/quality/*.json. The comparison of issue 19 at equal time:
#   bench/quality.sh --quiet-minutes 15
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DSENGINE_BUILD_DIR:-$root/build}
bin=$build/dsengine
heldout=$build/bench/heldout_loss
py=/usr/bin/python3
# an iteration budget overrides the config's run.minutes too (tiny's 13 would cut it short)
budget=(--iterations 300 --minutes 1000000)
quiet_minutes=
quiet_wait=600
keep=0
seed=1
work=$build/quality
configs=()
while [ $# -gt 0 ]; do
  case $1 in
    --iterations) budget=(--iterations "$2" --minutes 1000000); shift 2 ;;
    --minutes) budget=(--minutes "$2" --iterations 1000000); shift 2 ;;
    --quiet-minutes) quiet_minutes=$2; shift 2 ;;
    --quiet-wait) quiet_wait=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --seed) seed=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    -*) echo "quality.sh: unknown option $1" >&2; exit 2 ;;
    *) configs+=("$1"); shift ;;
  esac
done
[ ${#configs[@]} -gt 0 ] || configs=("$root/configs/tiny.json" "$root"/bench/quality/*.json)
for tool in ffmpeg ffprobe; do
  command -v $tool >/dev/null || { echo "quality.sh: needs $tool (apt-get install ffmpeg)" >&2; exit 2; }
done
"$py" -c 'import numpy' 2>/dev/null || { echo "quality.sh: needs $py with numpy (apt-get install python3-numpy)" >&2; exit 2; }
for f in "$bin" "$heldout"; do
  [ -x "$f" ] || { echo "quality.sh: $f is missing; build first (cmake --build build)" >&2; exit 2; }
done
export DSENGINE_TUNE=${DSENGINE_TUNE:-off}

# faces of both clips once; every 8th face held out of training
mkdir -p "$work"
for id in A B; do
  clip=$root/samples/pair-man1.mp4
  [ $id = B ] && clip=$root/samples/pair-man2.mp4
  [ -f "$work/faces/$id/alignments.json" ] ||
    "$bin" extract "$clip" --out "$work/faces/$id" --largest >"$work/extract-$id.log" 2>&1
  rm -rf "$work/train/$id" "$work/heldout/$id"
  mkdir -p "$work/train/$id" "$work/heldout/$id"
  cp "$work/faces/$id/alignments.json" "$work/train/$id/"
  cp "$work/faces/$id/alignments.json" "$work/heldout/$id/"
  i=0
  for f in "$work/faces/$id"/*.png; do
    if [ $((i % 8)) = 7 ]; then ln -s "$f" "$work/heldout/$id/"; else ln -s "$f" "$work/train/$id/"; fi
    i=$((i + 1))
  done
done

# the CPUs' busy share over half a second, from /proc/stat
busy() {
  "$py" -c '
import time
def sample():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f), f[3] + f[4]
t0, i0 = sample(); time.sleep(0.5); t1, i1 = sample()
print("%.2f" % (1 - (i1 - i0) / max(t1 - t0, 1)))'
}

# iterations per second of config $1 on a quiet machine: the best of 3 runs of 80 iterations,
# timed from iteration 10 to 80 of each (so kernel builds and loading are not counted)
quiet_rate() {
  local cfg=$1 dir=$2 best=0 rate try waited
  rm -rf "$dir"
  mkdir -p "$dir"
  for try in 1 2 3; do
    waited=0
    while [ "$(busy | awk '{ print ($1 < 0.2) }')" != 1 ] && [ $waited -lt "$quiet_wait" ]; do
      sleep 2
      waited=$((waited + 2))
    done
    "$bin" train --config "$cfg" --faces A="$work/train/A" --faces B="$work/train/B" \
      --model "$dir/model-$try" --iterations 80 --seed "$seed" --save-every 1000000 \
      --preview-every 1000000 >"$dir/calibrate-$try.log" 2>&1
    # cumulative samples/s at iterations 10 and 80 give the time between them
    rate=$("$py" - "$dir/calibrate-$try.log" "$cfg" <<'PY'
import json, re, sys
cfg = json.load(open(sys.argv[2]))
per_iteration = cfg.get("train", {}).get("batch", 64) * len(cfg["decoders"])
at = {}
for line in open(sys.argv[1]):
    m = re.match(r"iteration (\d+)/\d+\s+([\d.]+) samples/s", line)
    if m:
        at[int(m.group(1))] = float(m.group(2))
t10, t80 = 10 * per_iteration / at[10], 80 * per_iteration / at[80]
print("%.4f" % (70 / (t80 - t10)))
PY
)
    echo "quality.sh: $(basename "$cfg" .json) calibration $try: $rate iterations/s (waited ${waited}s for quiet)" >&2
    best=$(awk -v a="$best" -v b="$rate" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "$best"
}

rows=()
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .json)
  out=$work/$name
  run_budget=("${budget[@]}")
  # the run's identity: config, seed and budget (a quiet-minutes budget before its calibration)
  stamp="$(sha256sum <"$cfg" | cut -c1-16) seed $seed ${budget[*]} quiet ${quiet_minutes:-no}"
  kept=0
  if [ $keep = 1 ] && [ -f "$out/model/model.json" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ] &&
    [ "${budget[0]}" = --iterations ]; then
    kept=1
  fi
  if [ -n "$quiet_minutes" ]; then
    if [ $kept = 1 ] && [ -f "$out/iterations" ]; then
      iterations=$(cat "$out/iterations")
    else
      rate=$(quiet_rate "$cfg" "$work/calibrate/$name")
      iterations=$(awk -v r="$rate" -v m="$quiet_minutes" 'BEGIN { printf "%d", r * m * 60 + 0.5 }')
      echo "quality.sh: $name: $rate iterations/s quiet, so $quiet_minutes minutes are $iterations iterations" >&2
    fi
    run_budget=(--iterations "$iterations" --minutes 1000000)
  fi
  if [ $kept = 1 ]; then
    echo "quality.sh: $name: keeping the model trained before ($stamp)" >&2
    secs=$(cat "$out/train.secs")
  else
    rm -rf "$out"
    mkdir -p "$out"
    start=$(date +%s)
    "$bin" train --config "$cfg" --faces A="$work/train/A" --faces B="$work/train/B" --model "$out/model" \
      "${run_budget[@]}" --seed "$seed" --save-every 1000000 --preview-every 1000000 >"$out/train.log" 2>&1
    secs=$(($(date +%s) - start))
    echo "$secs" >"$out/train.secs"
    echo "$stamp" >"$out/stamp"
    [ -z "$quiet_minutes" ] || echo "$iterations" >"$out/iterations"
  fi
  iters=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$out/model/model.json")
  mask=()
  "$py" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("decoder", {}).get("mask") else 1)' \
    "$cfg" && mask=(--mask learned)
  "$bin" convert --model "$out/model" --swap A:B "$root/samples/pair-man1.mp4" --out "$out/A_as_B.mp4" \
    --alignments "$work/faces/A/alignments.json" --preview "$out/preview.png" "${mask[@]}" >"$out/convert.log" 2>&1
  "$bin" extract "$out/A_as_B.mp4" --out "$out/detected" --largest >"$out/extract.log" 2>&1
  "$py" "$root/bench/quality_metrics.py" "$root/samples/pair-man1.mp4" "$work/faces/A/alignments.json" \
    "$out/A_as_B.mp4" "$out/detected/alignments.json" >"$out/metrics.json"
  "$heldout" "$out/model" A="$work/heldout/A" B="$work/heldout/B" >"$out/heldout.txt"
  rows+=("$("$py" - "$name" "$iters" "$secs" "$out/metrics.json" "$out/heldout.txt" <<'PY'
import json, sys
name, iters, secs, metrics, held = sys.argv[1:6]
m = json.load(open(metrics))
h = {}
for line in open(held):
    f = line.split()
    h[f[0]] = {f[k]: f[k + 1] for k in range(1, len(f) - 1, 2)}
iou = "-"
if "mask_iou" in h["A"]:
    iou = "%s / %s (all ones: %s / %s)" % (h["A"]["mask_iou"], h["B"]["mask_iou"], h["A"]["ones_iou"],
                                          h["B"]["ones_iou"])
print("| %s | %s | %s | %.3f | %.1f %% | %.3f | %.3f | %.3f | %.3f | %.4f / %.4f | %.4f / %.4f | %s |" % (
    name, iters, secs, m["sharpness"], 100 * m["detected"], m["landmark_error"], m["mouth_corr"],
    m["temporal"], m["jitter"], float(h["A"]["mae"]), float(h["B"]["mae"]), float(h["A"]["dssim"]),
    float(h["B"]["dssim"]), iou))
PY
)")
  echo "${rows[-1]}" >&2
done

echo "| config | iterations | train s | sharpness | faces found | landmark error | mouth corr | temporal | jitter | held-out MAE A / B | held-out DSSIM A / B | mask IoU A / B |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
