#!/bin/sh
# Convert throughput: frames per second of `dsengine convert` end to end (decode, detect,
# landmarks, device swap, encode, overlapped in threads) and milliseconds per frame of
# each stage, on a 480x480 and a 1080x1920 clip, with the default Poisson blend. The
# target on a 2-core CPU through PoCL is >= 2 fps at 720p. The model is freshly
# initialised (weights do not change the work), trained 1 iteration on synthetic faces.
#
#   bench/convert.sh [--config configs/lowmem.json] [--frames 60] [--build DIR (build)]
#                    [--device SPEC] [CLIP...]
# Default clips: ../shared/data/video/pair-man1.mp4 (480x480) and
# studio-woman-hevc.mp4 (1080x1920), else samples/pair-man1.mp4.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
config=$root/configs/lowmem.json
frames=60
device=
die() { echo "bench/convert: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --config|--frames|--build|--device)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --config) config=$2 ;; --frames) frames=$2 ;; --build) build=$2 ;; --device) device=$2 ;;
      esac
      shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
dsengine=$build/dsengine
synth=$build/tests/synth_faces
[ -x "$dsengine" ] && [ -x "$synth" ] || die "build first (cmake --build $build) or pass --build DIR"
if [ $# -eq 0 ]; then
  shared=$root/../shared/data/video
  if [ -f "$shared/pair-man1.mp4" ]; then
    set -- "$shared/pair-man1.mp4" "$shared/studio-woman-hevc.mp4"
  else
    set -- "$root/samples/pair-man1.mp4"
  fi
fi
[ -n "$device" ] && export DSENGINE_DEVICE=$device
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$synth" --identity 0 --count 64 "$work/A" >/dev/null
"$synth" --identity 1 --count 64 "$work/B" >/dev/null
"$dsengine" train --config "$config" --faces A="$work/A" --faces B="$work/B" --model "$work/model" \
  --iterations 1 --batch 16 >/dev/null
echo "bench/convert: $(basename "$config") model, $frames frames per clip, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for clip in "$@"; do
  echo "== $clip"
  "$dsengine" convert --model "$work/model" --swap A:B "$clip" --out "$work/out.mp4" \
    --frames "$frames" --timing | grep -E "fps|ms per frame"
done
