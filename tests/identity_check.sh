#!/usr/bin/env bash
# Byte-identity of the pipeline's outputs, for changes that must not change
# behaviour (refactors): extracts the faces of both bundled clips, trains the
# tiny config for 50 iterations from seed 7, converts the first clip, and
# writes a manifest of SHA-256 sums: both alignments.json, the checkpoint's
# weights and optimizer files, every aligned face PNG, the training preview,
# and the converted video's decoded frames (ffmpeg framemd5, so container
# timestamps of the muxer do not count). Run it before and after a change
# and compare the two manifests:
#   tests/identity_check.sh build/dsengine /tmp/before   # on the old commit
#   tests/identity_check.sh build/dsengine /tmp/after    # on the new one
#   diff /tmp/before/manifest.txt /tmp/after/manifest.txt
# About 2 minutes on 2 cores. The device is the CPU (PoCL), tuning off.
# usage: identity_check.sh DSENGINE OUTDIR
set -euo pipefail
bin=$(realpath "$1")
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
command -v ffmpeg >/dev/null || { echo "identity_check: needs ffmpeg (apt-get install ffmpeg)" >&2; exit 2; }
rm -rf "$out"
mkdir -p "$out"
export DSENGINE_DEVICE=cpu DSENGINE_TUNE=off DSENGINE_CACHE_DIR="$out/cache"
"$bin" extract "$root/samples/pair-man1.mp4" --out "$out/faces/A" >"$out/log.txt"
"$bin" extract "$root/samples/pair-man2.mp4" --out "$out/faces/B" >>"$out/log.txt"
"$bin" train --config "$root/configs/tiny.json" --faces A="$out/faces/A" --faces B="$out/faces/B" \
  --model "$out/model" --iterations 50 --seed 7 --save-every 50 --preview-every 50 >>"$out/log.txt"
"$bin" convert --model "$out/model" --swap A:B "$root/samples/pair-man1.mp4" \
  --alignments "$out/faces/A/alignments.json" --out "$out/A_as_B.mp4" >>"$out/log.txt"
ffmpeg -loglevel error -i "$out/A_as_B.mp4" -map 0:v -f framemd5 "$out/frames.md5"
(
  cd "$out"
  sha256sum faces/A/alignments.json faces/B/alignments.json model/weights-*.bin \
    model/optimizer-*.bin model/preview.png
  find faces -name '*.png' | sort | xargs sha256sum
  grep -v '^#' frames.md5 | sha256sum | sed 's|-$|frames of A_as_B.mp4|'
) >"$out/manifest.txt"
echo "identity_check: $(wc -l <"$out/manifest.txt") sums in $out/manifest.txt"
