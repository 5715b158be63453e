#!/bin/sh
# Regenerates bench/RESULTS.md: 'dsengine bench --device all' on every device present, then
# (with --torch, the default on a machine with Debian's python3-torch) the same training steps
# in PyTorch on the CPU, and a Markdown report of both with the machine, date and command.
#
#   bench/results.sh [--build DIR (build)] [--model lowmem,original] [--batch 16,64]
#                    [--iters 2] [--device all] [--no-torch] [--out bench/RESULTS.md]
#                    [-- MORE DSENGINE BENCH OPTIONS]
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
model=lowmem,original
batch=16,64
iters=2
device=all
torch=1
out=$root/bench/RESULTS.md
python=/usr/bin/python3

die() { echo "results: error: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --build|--model|--batch|--iters|--device|--out)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --build) build=$2 ;; --model) model=$2 ;; --batch) batch=$2 ;; --iters) iters=$2 ;;
        --device) device=$2 ;; --out) out=$2 ;;
      esac
      shift 2 ;;
    --no-torch) torch=0; shift ;;
    --) shift; break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ -x "$build/dsengine" ] ||
  die "$build/dsengine not found; build first (cmake --build $build) or pass --build DIR"
[ -x "$python" ] || die "$python not found (Debian: apt-get install python3)"
if [ "$torch" = 1 ] && ! "$python" -c "import torch" 2>/dev/null; then
  echo "results: python3-torch is not installed: no PyTorch comparison (apt-get install python3-torch)"
  torch=0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cd "$root"
"$build/dsengine" bench --device "$device" --model "$model" --batch "$batch" --iters "$iters" \
  --json "$tmp/dsengine.json" "$@"
if [ "$torch" = 1 ]; then
  echo
  echo "== pytorch: bench/torch_train_step.py"
  "$python" bench/torch_train_step.py --model "$model" --batch "$batch" --iters "$iters" \
    --json "$tmp/torch.json"
fi
cmd="bench/results.sh --model $model --batch $batch --iters $iters --device $device"
[ "$torch" = 1 ] || cmd="$cmd --no-torch"
[ $# -gt 0 ] && cmd="$cmd -- $*"
"$python" bench/results_md.py "$tmp/dsengine.json" "$tmp/torch.json" "$cmd" > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
