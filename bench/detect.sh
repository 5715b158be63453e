#!/bin/sh
# Face detection speed: dlib's own frontal detector (tests/dlib/compare_detect, built
# when libdlib-dev is present) and dsengine's C and device detectors on the same frames
# at 480x480, 1280x720 and 1920x1080, one after the other, with the ratio to dlib and a
# check that the boxes are dlib's. Frames come from the shared clips beside the checkout
# (or samples/), placed on a grey canvas of each size by bench/detect_frames.py.
#
#   bench/detect.sh [--repeat K (5)] [--build DIR (build)] [--device SPEC] [--profile]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
repeat=5
device=
profile=
die() { echo "bench/detect: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --repeat|--build|--device)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in --repeat) repeat=$2 ;; --build) build=$2 ;; --device) device=$2 ;; esac
      shift 2 ;;
    --profile) profile=--profile; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -x "$build/bench/detect" ] || die "build first (cmake --build $build)"
[ -x "$build/tests/compare_detect" ] ||
  die "$build/tests/compare_detect missing: install libdlib-dev and reconfigure"
clips=
for c in "$root/../shared/data/video/pair-man1.mp4" "$root/../shared/data/video/studio-woman-hevc.mp4"; do
  [ -f "$c" ] && clips="$clips $c"
done
[ -n "$clips" ] || clips="$root/samples/pair-man1.mp4 $root/samples/pair-man2.mp4"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck disable=SC2086
/usr/bin/python3 "$root/bench/detect_frames.py" "$work/frames" $clips
"$build/tests/compare_detect" --repeat "$repeat" "$work/dlib" "$work"/frames/*.png >/dev/null
"$build/bench/detect" --dlib "$work/dlib" --repeat "$repeat" ${device:+--device "$device"} $profile
