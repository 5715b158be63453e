#!/usr/bin/env bash
# Swap quality per training budget (issue 19): trains each config on the bundled pair
# (samples/) from the same seed for the same iterations (or minutes), converts pair-man1 to
# identity B, and reports what bench/quality_metrics.py measures on our own outputs (face
# sharpness, faces found, landmark error, mouth-open correlation, temporal change) with the
# held-out reconstruction loss of each identity (bench/heldout_loss.c on every 8th face,
# which training never sees). Prints a Markdown table; the work stays in --work.
#
#   bench/quality.sh [--iterations N | --minutes M] [--seed S] [--work DIR] [CONFIG...]
#
# Defaults: 300 iterations, seed 1, build/quality, and configs/tiny.json (MAE, the original's
# loss) against bench/quality/*.json. The comparison of issue 19 at equal time:
#   bench/quality.sh --minutes 15
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${DSENGINE_BUILD_DIR:-$root/build}
bin=$build/dsengine
heldout=$build/bench/heldout_loss
py=/usr/bin/python3
budget=(--iterations 300)
seed=1
work=$build/quality
configs=()
while [ $# -gt 0 ]; do
  case $1 in
    --iterations) budget=(--iterations "$2"); shift 2 ;;
    --minutes) budget=(--minutes "$2" --iterations 1000000); shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
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
  i=0
  for f in "$work/faces/$id"/*.png; do
    if [ $((i % 8)) = 7 ]; then ln -s "$f" "$work/heldout/$id/"; else ln -s "$f" "$work/train/$id/"; fi
    i=$((i + 1))
  done
done

rows=()
for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .json)
  out=$work/$name
  rm -rf "$out"
  mkdir -p "$out"
  start=$(date +%s)
  "$bin" train --config "$cfg" --faces A="$work/train/A" --faces B="$work/train/B" --model "$out/model" \
    "${budget[@]}" --seed "$seed" --save-every 1000000 --preview-every 1000000 >"$out/train.log" 2>&1
  secs=$(($(date +%s) - start))
  iters=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["iteration"])' "$out/model/model.json")
  "$bin" convert --model "$out/model" --swap A:B "$root/samples/pair-man1.mp4" --out "$out/A_as_B.mp4" \
    --alignments "$work/faces/A/alignments.json" --preview "$out/preview.png" >"$out/convert.log" 2>&1
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
    h[f[0]] = (float(f[4]), float(f[6]))
print("| %s | %s | %s | %.3f | %.1f %% | %.3f | %.3f | %.3f | %.4f / %.4f | %.4f / %.4f |" % (
    name, iters, secs, m["sharpness"], 100 * m["detected"], m["landmark_error"], m["mouth_corr"],
    m["temporal"], h["A"][0], h["B"][0], h["A"][1], h["B"][1]))
PY
)")
  echo "${rows[-1]}" >&2
done

echo "| config | iterations | train s | sharpness | faces found | landmark error | mouth corr | temporal | held-out MAE A / B | held-out DSSIM A / B |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
